"""Lists over the local host: `$filter` with `count`, paging a filtered list, and every `$`
option a route does not support refused (never ignored)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.api.client import Management, error_code
from tests.support.pki import CA, pfx_cryptography

CERTIFICATES = "/management/certificates"
APIS = "/management/apis"


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def certificates(mgmt: Management, ca: CA, uid: str) -> dict[str, dict[str, Any]]:
    """Three certificates of this test, expiring in 100, 200 and 300 days: name -> properties."""
    made: dict[str, dict[str, Any]] = {}
    for letter, days in (("a", 100), ("b", 200), ("c", 300)):
        expiry = now() + datetime.timedelta(days=days)
        issued = ca.issue_client(f"{uid}-{letter}.contoso.com", kind="ec", not_after=expiry)
        response = mgmt.upload(f"{uid}-{letter}", pfx_cryptography(issued, "pw"), "pw")
        assert response.status_code == 201, response.text
        made[f"{uid}-{letter}"] = response.json()["properties"]
    return made


def listed(mgmt: Management, path: str, filter_text: str, **params: str) -> tuple[list[str], int]:
    response = mgmt.get(path, params={"$filter": filter_text, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["name"] for item in body["value"]], body["count"]


def refused(response: Any, target: str) -> str:
    assert response.status_code == 400, response.text
    assert error_code(response) == "InvalidQueryParameter"
    assert response.json()["error"]["target"] == target
    return str(response.json()["error"]["message"])


def test_certificate_filters_and_count(
    mgmt: Management, certificates: dict[str, dict[str, Any]], uid: str
) -> None:
    a, b, c = sorted(certificates)
    mine = f"startswith(name,'{uid}-')"
    assert listed(mgmt, CERTIFICATES, mine) == ([a, b, c], 3)
    assert listed(mgmt, CERTIFICATES, f"name eq '{b}'") == ([b], 1)
    assert listed(mgmt, CERTIFICATES, f"{mine} and name ne '{b}'") == ([a, c], 2)
    assert listed(mgmt, CERTIFICATES, f"endswith(name,'{uid}-c') or name eq '{a}'") == ([a, c], 2)
    assert listed(mgmt, CERTIFICATES, f"contains(subject,'{uid}-b.contoso')") == ([b], 1)
    assert listed(mgmt, CERTIFICATES, f"subject eq '{certificates[c]['subject']}'") == ([c], 1)
    assert listed(mgmt, CERTIFICATES, f"thumbprint eq '{certificates[a]['thumbprint']}'") == ([a], 1)
    soon = iso(now() + datetime.timedelta(days=150))
    assert listed(mgmt, CERTIFICATES, f"{mine} and expirationDate lt {soon}") == ([a], 1)
    assert listed(mgmt, CERTIFICATES, f"{mine} and expirationDate ge {soon}") == ([b, c], 2)
    exact = certificates[b]["expirationDate"]
    assert listed(mgmt, CERTIFICATES, f"{mine} and expirationDate eq {exact}") == ([b], 1)
    assert listed(mgmt, CERTIFICATES, f"{mine} and (expirationDate gt {exact} or name eq '{a}')") == (
        [a, c],
        2,
    )
    assert listed(mgmt, CERTIFICATES, f"name eq '{uid}-none'") == ([], 0)


def test_filtered_pages_keep_the_filter(
    mgmt: Management, certificates: dict[str, dict[str, Any]], uid: str
) -> None:
    names: list[str] = []
    first = {"$filter": f"startswith(name,'{uid}-')", "$top": "1", "api-version": "2024-05-01"}
    response = mgmt.get(CERTIFICATES, params=first)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == 3  # every match, on every page
        names += [item["name"] for item in body["value"]]
        if "nextLink" not in body:
            break
        assert "filter" in body["nextLink"] and "api-version=2024-05-01" in body["nextLink"]
        response = mgmt.session.get(body["nextLink"], timeout=30)
    assert names == sorted(certificates)


def test_an_unfiltered_list_counts_everything(
    mgmt: Management, certificates: dict[str, dict[str, Any]]
) -> None:
    body = mgmt.get(CERTIFICATES, params={"$top": "1000"}).json()
    assert set(certificates) <= {item["name"] for item in body["value"]}
    assert body["count"] == len(body["value"]) >= 3


def test_api_filters_and_count(mgmt: Management, certificates: dict[str, dict[str, Any]], uid: str) -> None:
    cert = sorted(certificates)[0]
    for name, service_url, bound in (
        ("orders", "https://orders.example/api", True),
        ("billing", "https://billing.example/v2", True),
        ("plain", "http://plain.example", False),
    ):
        response = mgmt.put_api(f"{uid}-{name}", f"{uid}/{name}", service_url, cert if bound else None)
        assert response.status_code == 201, response.text
    mine = f"startswith(name,'{uid}-')"
    everything = [f"{uid}-billing", f"{uid}-orders", f"{uid}-plain"]
    assert listed(mgmt, APIS, mine) == (everything, 3)
    assert listed(mgmt, APIS, f"certificateId eq '{cert}'") == (everything[:2], 2)
    assert listed(mgmt, APIS, f"{mine} and certificateId eq null") == ([f"{uid}-plain"], 1)
    assert listed(mgmt, APIS, f"{mine} and certificateId ne null") == (everything[:2], 2)
    assert listed(mgmt, APIS, f"path eq '{uid}/orders'") == ([f"{uid}-orders"], 1)
    assert listed(mgmt, APIS, f"{mine} and startswith(serviceUrl,'https://')") == (everything[:2], 2)
    assert listed(mgmt, APIS, f"{mine} and endswith(serviceUrl,'/v2') or path eq '{uid}/plain'") == (
        [f"{uid}-billing", f"{uid}-plain"],
        2,
    )
    page = mgmt.get(APIS, params={"$filter": mine, "$top": "2"}).json()
    assert [a["name"] for a in page["value"]] == everything[:2] and page["count"] == 3
    rest = mgmt.session.get(page["nextLink"], timeout=30).json()
    assert [a["name"] for a in rest["value"]] == everything[2:] and "nextLink" not in rest


@pytest.mark.parametrize(
    ("path", "filter_text", "says"),
    [
        (CERTIFICATES, "name eq 'x", "not closed"),
        (CERTIFICATES, "name eq 'x' and", "Expected a field name"),
        (CERTIFICATES, "serviceUrl eq 'x'", "Unknown field 'serviceUrl'"),
        (CERTIFICATES, "name lt 'x'", "'name' is a string"),
        (CERTIFICATES, "expirationDate lt 'tomorrow'", "not an ISO 8601 UTC time"),
        (CERTIFICATES, "", "empty"),
        (APIS, "thumbprint eq 'x'", "Unknown field 'thumbprint'"),
        (APIS, "startswith(path)", "Expected ','"),
    ],
)
def test_a_filter_that_cannot_be_parsed(mgmt: Management, path: str, filter_text: str, says: str) -> None:
    assert says in refused(mgmt.get(path, params={"$filter": filter_text}), "$filter")


UNSUPPORTED = ["$orderby", "$expand", "$skip", "$select", "$count", "$foo", "$Filter", "$TOP"]


@pytest.mark.parametrize("option", UNSUPPORTED)
def test_unsupported_options_on_lists(mgmt: Management, option: str) -> None:
    for path in (CERTIFICATES, APIS):
        message = refused(mgmt.get(path, params={option: "name", "api-version": "2024-05-01"}), option)
        assert option in message


@pytest.mark.parametrize("option", ["$filter", "$top", "$skipToken", "$orderby", "$expand", "$foo"])
def test_no_options_on_item_routes(
    mgmt: Management, certificates: dict[str, dict[str, Any]], uid: str, option: str
) -> None:
    cert = sorted(certificates)[0]
    assert mgmt.put_api(uid, uid, "https://x.example").status_code == 201
    query = {option: "1"}
    for item in (f"{CERTIFICATES}/{cert}", f"{APIS}/{uid}", f"{APIS}/{uid}/policy"):
        refused(mgmt.get(item, params=query), option)
    refused(mgmt.session.delete(f"{mgmt.base}{APIS}/{uid}", params=query, timeout=30), option)
    refused(mgmt.session.delete(f"{mgmt.base}{CERTIFICATES}/{cert}", params=query, timeout=30), option)
    put = mgmt.session.put(
        f"{mgmt.base}{APIS}/{uid}",
        params=query,
        json={"properties": {"path": uid, "serviceUrl": "https://changed.example"}},
        timeout=30,
    )
    refused(put, option)
    # Refused means nothing done: both are still there, unchanged.
    assert mgmt.get(f"{APIS}/{uid}").json()["properties"]["serviceUrl"] == "https://x.example"
    assert mgmt.get(f"{CERTIFICATES}/{cert}").status_code == 200


def test_api_version_is_accepted_everywhere(
    mgmt: Management, certificates: dict[str, dict[str, Any]], uid: str
) -> None:
    cert = sorted(certificates)[0]
    version = {"api-version": "2024-05-01"}
    assert mgmt.get(f"{CERTIFICATES}/{cert}", params=version).status_code == 200
    assert listed(mgmt, CERTIFICATES, f"name eq '{cert}'", **version) == ([cert], 1)
    assert mgmt.get(APIS, params=version).status_code == 200
