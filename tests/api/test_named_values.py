"""The named value routes over HTTP through the local host, per the contract."""

from __future__ import annotations

from typing import Any

import requests

from tests.api.client import Management, error_code
from tests.services import DevHost

SECRET = "s3cr3t-named-value-✓"


def _put(mgmt: Management, nv_id: str, **properties: Any) -> requests.Response:
    headers = properties.pop("headers", {})
    return mgmt.session.put(
        f"{mgmt.base}/management/namedValues/{nv_id}",
        json={"properties": properties},
        headers=headers,
        timeout=30,
    )


def test_secret_value_is_never_returned(mgmt: Management, devhost: DevHost, uid: str) -> None:
    created = _put(mgmt, uid, displayName="orders key", value=SECRET, secret=True, tags=["a"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == uid and body["type"] == "namedValues" and body["id"] == f"/namedValues/{uid}"
    assert body["properties"] == {"displayName": "orders key", "secret": True, "tags": ["a"]}
    etag = created.headers["ETag"]
    item = f"/management/namedValues/{uid}"
    got = mgmt.get(item)
    assert got.status_code == 200 and got.json() == body and got.headers["ETag"] == etag
    listed = mgmt.get("/management/namedValues", params={"$filter": f"name eq '{uid}'"})
    assert listed.json()["count"] == 1 and listed.json()["value"] == [body]
    head = mgmt.head(item)
    assert head.status_code == 200 and head.headers["ETag"] == etag and not head.content
    for response in (created, got, listed, head):
        assert SECRET not in response.text and "s3cr3t" not in response.text
    assert devhost.log_line(f"named value {uid} created")  # logged, without its value
    assert "s3cr3t" not in devhost.log_text()


def test_plain_value_is_returned_and_replaced(mgmt: Management, uid: str) -> None:
    created = _put(mgmt, uid, value="2024-01-01")
    assert created.status_code == 201 and created.json()["properties"]["value"] == "2024-01-01"
    assert created.json()["properties"]["displayName"] == uid
    stale = created.headers["ETag"]
    replaced = _put(mgmt, uid, value="2025-01-01", headers={"If-Match": stale})
    assert replaced.status_code == 200 and replaced.json()["properties"]["value"] == "2025-01-01"
    refused = _put(mgmt, uid, value="2026-01-01", headers={"If-Match": stale})
    assert refused.status_code == 412 and error_code(refused) == "PreconditionFailed"
    again = _put(mgmt, uid, value="x", headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert mgmt.get(f"/management/namedValues/{uid}").json()["properties"]["value"] == "2025-01-01"


def test_refusals_and_delete(mgmt: Management, uid: str) -> None:
    unknown = _put(mgmt, uid, value="v", secrte=True)
    assert unknown.status_code == 400 and error_code(unknown) == "InvalidRequestBody"
    assert unknown.json()["error"]["target"] == "properties.secrte"
    bad_id = _put(mgmt, "-bad", value="v")
    assert bad_id.status_code == 400 and error_code(bad_id) == "InvalidIdentifier"
    item = f"/management/namedValues/{uid}"
    missing = mgmt.get(item)
    assert missing.status_code == 404 and error_code(missing) == "ResourceNotFound"
    assert mgmt.head(item).status_code == 404
    assert mgmt.delete(item).status_code == 204
    assert _put(mgmt, uid, value="v").status_code == 201
    assert mgmt.delete(item, If_Match='"nope"').status_code == 412
    assert mgmt.delete(item).status_code == 200
    assert mgmt.get(item).status_code == 404


def test_list_pages_by_name(mgmt: Management, uid: str) -> None:
    ids = [f"{uid}-{n}" for n in range(3)]
    for nv_id in reversed(ids):
        assert _put(mgmt, nv_id, value=nv_id, secret=nv_id.endswith("1")).status_code == 201
    mine = f"startswith(name,'{uid}-')"
    page = mgmt.get("/management/namedValues", params={"$filter": mine, "$top": "2"}).json()
    assert [n["name"] for n in page["value"]] == ids[:2] and page["count"] == 3
    rest = mgmt.session.get(page["nextLink"], timeout=30).json()
    assert [n["name"] for n in rest["value"]] == ids[2:] and "nextLink" not in rest
    refused = mgmt.get("/management/namedValues", params={"$orderby": "name"})
    assert refused.status_code == 400 and error_code(refused) == "InvalidQueryParameter"
