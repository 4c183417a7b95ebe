"""CA certificates over HTTP through the local host, and per-API trust (tls.caCertificateIds):
the backend's chain is validated against exactly the API's CAs, never the process-wide store."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding

from tests.api.client import Management, error_code
from tests.services import DevHost
from tests.support.pki import CA
from tests.support.tls_backends import EchoBackend


@pytest.fixture
def gw(gateway_host: DevHost) -> Management:
    return Management(gateway_host.url)


@pytest.fixture(scope="module")
def corp() -> CA:
    return CA.new("corp private root", "ec")


def put_ca(gw: Management, ca_id: str, data: bytes, **headers: str) -> requests.Response:
    body = {"properties": {"data": base64.b64encode(data).decode()}}
    return gw.session.put(
        f"{gw.base}/management/caCertificates/{ca_id}", json=body, headers=headers, timeout=30
    )


def put_api(gw: Management, api_id: str, url: str, tls: dict[str, Any]) -> requests.Response:
    body = {"properties": {"path": api_id, "serviceUrl": url, "tls": tls}}
    return gw.session.put(f"{gw.base}/management/apis/{api_id}", json=body, timeout=30)


def call(gw: Management, api_id: str) -> requests.Response:
    return requests.get(f"{gw.base}/gateway/{api_id}/x", timeout=10)


def test_put_get_head_list_and_conditions(gw: Management, corp: CA, uid: str) -> None:
    ca_id = f"ca-{uid}"
    created = put_ca(gw, ca_id, corp.cert_pem)
    assert created.status_code == 201, created.text
    props = created.json()["properties"]
    assert created.json()["type"] == "caCertificates"
    assert props["subject"] == corp.cert.subject.rfc4514_string() and props["isCa"] is True
    assert props["usedBy"] == [] and props["expirationDate"].endswith("Z")
    etag = created.headers["ETag"]
    again = put_ca(gw, ca_id, corp.cert.public_bytes(Encoding.DER))  # the same certificate, as DER
    assert again.status_code == 200 and again.headers["ETag"] == etag
    assert gw.get(f"/management/caCertificates/{ca_id}").json() == created.json()
    assert gw.head(f"/management/caCertificates/{ca_id}").headers["ETag"] == etag
    assert gw.head(f"/management/caCertificates/nope-{uid}").status_code == 404
    listed = gw.get("/management/caCertificates", params={"$filter": f"name eq '{ca_id}'"}).json()
    assert listed["count"] == 1 and listed["value"][0]["name"] == ca_id
    stale = put_ca(gw, ca_id, CA.new("another").cert_pem, **{"If-Match": '"stale"'})
    assert stale.status_code == 412
    assert gw.delete(f"/management/caCertificates/{ca_id}").status_code == 200
    assert gw.delete(f"/management/caCertificates/{ca_id}").status_code == 204


def test_only_public_certificates(gw: Management, corp: CA, uid: str) -> None:
    leaf = corp.issue_server()
    for data in (leaf.key_pem + leaf.cert_pem, b"not a certificate"):
        refused = put_ca(gw, f"ca-{uid}", data)
        assert refused.status_code == 400 and error_code(refused) == "InvalidCertificate", refused.text
    assert gw.get(f"/management/caCertificates/ca-{uid}").status_code == 404


def test_trust_is_per_api(gw: Management, corp: CA, root: CA, uid: str) -> None:
    """A CA trusted for API A does not make API B trust it; A trusts only its CAs, not the
    process-wide store (which holds `root`)."""
    missing = put_api(gw, f"a-{uid}", "https://localhost:1", {"caCertificateIds": [f"ca-{uid}"]})
    assert missing.status_code == 400 and error_code(missing) == "CertificateNotFound"
    assert put_ca(gw, f"ca-{uid}", corp.cert_pem).status_code == 201
    with (
        EchoBackend(corp.issue_server(), None) as corp_backend,
        EchoBackend(root.issue_server(), None) as usual,
    ):
        assert (
            put_api(gw, f"a-{uid}", corp_backend.url, {"caCertificateIds": [f"ca-{uid}"]}).status_code == 201
        )
        assert put_api(gw, f"b-{uid}", corp_backend.url, {}).status_code == 201
        assert put_api(gw, f"c-{uid}", usual.url, {"caCertificateIds": [f"ca-{uid}"]}).status_code == 201
        assert call(gw, f"a-{uid}").status_code == 200
        for api in (f"b-{uid}", f"c-{uid}"):
            response = call(gw, api)
            assert response.status_code == 502 and error_code(response) == "BackendTlsError"
            assert "not trusted" in response.json()["error"]["message"]
        assert put_api(gw, f"c-{uid}", usual.url, {}).status_code == 200
        assert call(gw, f"c-{uid}").status_code == 200  # the store again, without caCertificateIds


def test_replaced_ca_takes_effect(gw: Management, corp: CA, uid: str) -> None:
    assert put_ca(gw, f"ca-{uid}", corp.cert_pem).status_code == 201
    with EchoBackend(corp.issue_server(), None) as backend:
        assert put_api(gw, uid, backend.url, {"caCertificateIds": [f"ca-{uid}"]}).status_code == 201
        assert call(gw, uid).status_code == 200
        assert put_ca(gw, f"ca-{uid}", CA.new("replacement").cert_pem).status_code == 200
        response = call(gw, uid)
        assert response.status_code == 502 and "not trusted" in response.json()["error"]["message"]


def test_delete_in_use(gw: Management, corp: CA, uid: str) -> None:
    ca_id = f"ca-{uid}"
    etag = put_ca(gw, ca_id, corp.cert_pem).headers["ETag"]
    for api in (f"a-{uid}", f"b-{uid}"):
        assert put_api(gw, api, "https://localhost:1", {"caCertificateIds": [ca_id]}).status_code == 201
    assert gw.get(f"/management/caCertificates/{ca_id}").json()["properties"]["usedBy"] == [
        f"a-{uid}",
        f"b-{uid}",
    ]
    refused = gw.delete(f"/management/caCertificates/{ca_id}", **{"If-Match": etag})
    assert refused.status_code == 409 and error_code(refused) == "CertificateInUse"
    assert [d["target"] for d in refused.json()["error"]["details"]] == [f"a-{uid}", f"b-{uid}"]
    assert gw.head(f"/management/caCertificates/{ca_id}").headers["ETag"] == etag  # a refusal writes nothing
    for api in (f"a-{uid}", f"b-{uid}"):
        assert put_api(gw, api, "https://localhost:1", {}).status_code == 200
    assert gw.delete(f"/management/caCertificates/{ca_id}", **{"If-Match": etag}).status_code == 200


def test_identifiers_lists_and_the_api_resource(gw: Management, corp: CA, uid: str) -> None:
    bad = put_ca(gw, "-bad", corp.cert_pem)
    assert bad.status_code == 400 and error_code(bad) == "InvalidIdentifier"
    assert error_code(gw.get(f"/management/caCertificates/none-{uid}")) == "ResourceNotFound"
    second = CA.new(f"second {uid}")
    for ca_id, ca in ((f"l1-{uid}", corp), (f"l2-{uid}", second)):
        assert put_ca(gw, ca_id, ca.cert_pem).status_code == 201
    thumbprint = put_ca(gw, f"l2-{uid}", second.cert_pem).json()["properties"]["thumbprint"]
    by_thumbprint = {"$filter": f"thumbprint eq '{thumbprint}' and startswith(name,'l')"}
    listed = gw.get("/management/caCertificates", params=by_thumbprint).json()
    assert listed["count"] == 1 and [i["name"] for i in listed["value"]] == [f"l2-{uid}"]
    paged = gw.get("/management/caCertificates", params={"$filter": f"endswith(name,'-{uid}')", "$top": "1"})
    assert paged.json()["count"] == 2 and "nextLink" in paged.json()
    assert (
        error_code(gw.get("/management/caCertificates", params={"$orderby": "name"}))
        == "InvalidQueryParameter"
    )
    tls = {"caCertificateIds": [f"l1-{uid}", f"l2-{uid}"], "serverName": "Orders.Internal.Test"}
    api = put_api(gw, uid, "https://localhost:1", tls).json()["properties"]["tls"]
    assert api == {
        "validateCertificateChain": True,
        "validateCertificateName": True,
        "caCertificateIds": [f"l1-{uid}", f"l2-{uid}"],
        "serverName": "orders.internal.test",
    }
    assert gw.get(f"/management/caCertificates/l2-{uid}").json()["properties"]["usedBy"] == [uid]
