"""The API routes and the policy over HTTP, per the contract."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.api.client import Management, error_code
from tests.support.pki import Issued, pfx_cryptography


@pytest.fixture
def cert_id(mgmt: Management, client_rsa: Issued, uid: str) -> str:
    response = mgmt.upload(f"c-{uid}", pfx_cryptography(client_rsa, "pw"), "pw")
    assert response.status_code in (200, 201), response.text
    return f"c-{uid}"


def test_create_get_replace_delete(mgmt: Management, cert_id: str, uid: str) -> None:
    created = mgmt.put_api(uid, f"{uid}/v1", "https://orders.example/api", cert_id)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {
        "id": f"/apis/{uid}",
        "name": uid,
        "type": "apis",
        "properties": {
            "displayName": uid,
            "path": f"{uid}/v1",
            "serviceUrl": "https://orders.example/api",
            "credentials": {"certificateId": cert_id},
            "tls": {"validateCertificateChain": True, "validateCertificateName": True},
        },
    }
    got = mgmt.get(f"/management/apis/{uid}")
    assert got.json() == body and got.headers["ETag"] == created.headers["ETag"]
    replaced = mgmt.put_api(
        uid,
        f"{uid}/v2",
        "http://plain.example",
        None,
        tls={"validateCertificateChain": False, "validateCertificateName": False},
    )
    assert replaced.status_code == 200
    assert "credentials" not in replaced.json()["properties"]
    # the old path is free again, the new one is taken
    assert mgmt.put_api(f"{uid}-b", f"{uid}/v1", "https://x.example").status_code == 201
    assert error_code(mgmt.put_api(f"{uid}-c", f"{uid}/v2", "https://x.example")) == "PathInUse"
    assert mgmt.delete(f"/management/apis/{uid}").status_code == 200
    assert mgmt.delete(f"/management/apis/{uid}").status_code == 204
    assert error_code(mgmt.get(f"/management/apis/{uid}")) == "ResourceNotFound"
    assert mgmt.put_api(f"{uid}-c", f"{uid}/v2", "https://x.example").status_code == 201


def test_policy(mgmt: Management, cert_id: str, uid: str) -> None:
    assert mgmt.put_api(uid, uid, "https://orders.example", cert_id).status_code == 201
    policy = mgmt.get(f"/management/apis/{uid}/policy")
    assert policy.status_code == 200
    body = policy.json()
    assert body["id"] == f"/apis/{uid}/policies/policy" and body["type"] == "policies"
    assert body["properties"]["format"] == "rawxml"
    cert = ET.fromstring(body["properties"]["value"]).find("inbound/authentication-certificate")
    assert cert is not None and cert.get("certificate-id") == cert_id
    assert mgmt.put_api(uid, uid, "https://orders.example").status_code == 200
    unbound = mgmt.get(f"/management/apis/{uid}/policy").json()["properties"]["value"]
    assert ET.fromstring(unbound).find("inbound/authentication-certificate") is None
    assert error_code(mgmt.get(f"/management/apis/{uid}-none/policy")) == "ResourceNotFound"


def test_binding_to_missing_certificate(mgmt: Management, uid: str) -> None:
    response = mgmt.put_api(uid, uid, "https://x.example", f"missing-{uid}")
    assert response.status_code == 400 and error_code(response) == "CertificateNotFound"
    assert mgmt.get(f"/management/apis/{uid}").status_code == 404
    # the path was not left reserved
    assert mgmt.put_api(f"{uid}-2", uid, "https://x.example").status_code == 201


@pytest.mark.parametrize(
    ("props", "code"),
    [
        ({"path": "/lead", "serviceUrl": "https://x"}, "InvalidPath"),
        ({"path": "a/./b", "serviceUrl": "https://x"}, "InvalidPath"),
        ({"path": "ok", "serviceUrl": ""}, "InvalidServiceUrl"),
        ({"path": "ok", "serviceUrl": "x.example/api"}, "InvalidServiceUrl"),
        (
            {"path": "ok", "serviceUrl": "http://x", "credentials": {"certificateId": "c"}},
            "InvalidServiceUrl",
        ),
        ({"path": 1, "serviceUrl": "https://x"}, "InvalidRequestBody"),
        (
            {"path": "ok", "serviceUrl": "https://x", "tls": {"validateCertificateName": 1}},
            "InvalidRequestBody",
        ),
    ],
)
def test_refusals(mgmt: Management, uid: str, props: dict[str, object], code: str) -> None:
    response = mgmt.session.put(f"{mgmt.base}/management/apis/{uid}", json={"properties": props}, timeout=10)
    assert response.status_code == 400 and error_code(response) == code
    assert mgmt.get(f"/management/apis/{uid}").status_code == 404


def test_conditional_requests(mgmt: Management, uid: str) -> None:
    assert mgmt.put_api(uid, uid, "https://x.example", If_Match="*").status_code == 412
    created = mgmt.put_api(uid, uid, "https://x.example", If_None_Match="*")
    assert created.status_code == 201
    assert mgmt.put_api(uid, uid, "https://y.example", If_None_Match="*").status_code == 412
    assert mgmt.put_api(uid, uid, "https://y.example", If_Match='"old"').status_code == 412
    assert mgmt.put_api(uid, uid, "https://y.example", If_Match=created.headers["ETag"]).status_code == 200
    assert mgmt.delete(f"/management/apis/{uid}", If_Match=created.headers["ETag"]).status_code == 412
    assert mgmt.delete(f"/management/apis/{uid}", If_Match="*").status_code == 200


def test_api_version_is_ignored(mgmt: Management, uid: str) -> None:
    assert mgmt.put_api(uid, uid, "https://x.example").status_code == 201
    assert mgmt.get(f"/management/apis/{uid}", params={"api-version": "2024-05-01"}).status_code == 200


@pytest.mark.parametrize("top", ["0", "1001", "x", "-1", "1.5"])
def test_bad_top(mgmt: Management, top: str) -> None:
    for path in ("/management/apis", "/management/certificates"):
        response = mgmt.get(path, params={"$top": top})
        assert response.status_code == 400 and error_code(response) == "InvalidQueryParameter"


@pytest.mark.parametrize("top", ["%C2%B2", "%EF%BC%95", "9" * 5000])
def test_odd_top_values(mgmt: Management, top: str) -> None:
    response = mgmt.session.get(f"{mgmt.base}/management/apis?$top={top}", timeout=10)
    assert response.status_code == 400 and error_code(response) == "InvalidQueryParameter"


def test_deeply_nested_body(mgmt: Management, uid: str) -> None:
    for route in (f"/management/apis/{uid}", f"/management/certificates/{uid}"):
        response = mgmt.session.put(mgmt.base + route, data=b"[" * 100_000, timeout=10)
        assert response.status_code == 400 and error_code(response) == "InvalidRequestBody"


def test_overlong_fields(mgmt: Management, uid: str) -> None:
    response = mgmt.put_api(uid, "a" * 2000, "https://x.example")
    assert response.status_code == 400 and error_code(response) == "InvalidPath"
    response = mgmt.session.put(
        f"{mgmt.base}/management/apis/{uid}",
        timeout=10,
        json={"properties": {"path": uid, "serviceUrl": "https://x.example", "displayName": "d" * 200_000}},
    )
    assert response.status_code == 400 and error_code(response) == "InvalidRequestBody"


def test_head_of_an_api_and_its_policy(mgmt: Management, cert_id: str, uid: str) -> None:
    item = f"/management/apis/{uid}"
    for path in (item, item + "/policy"):
        missing = mgmt.head(path)
        assert missing.status_code == 404 and missing.content == b"", path
    etag = mgmt.put_api(uid, f"{uid}/h", "https://backend.invalid", cert_id).headers["ETag"]
    for path in (item, item + "/policy"):
        found = mgmt.head(path)
        assert found.status_code == 200 and found.content == b"", path
        assert found.headers["ETag"] == etag == mgmt.get(path).headers["ETag"], path
    changed = mgmt.put_api(uid, f"{uid}/h2", "https://backend.invalid", cert_id).headers["ETag"]
    assert changed != etag and mgmt.head(item).headers["ETag"] == changed
    assert mgmt.delete(item).status_code == 200
    assert mgmt.head(item).status_code == 404
