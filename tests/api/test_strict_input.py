"""Strict input over the local host: unknown and wrongly typed properties are 400s that name them,
APIM's `certificateIds`, damaged PKCS#12 files, and the certificate's read-only facts."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableClient, UpdateMode
from cryptography.hazmat.primitives import serialization

from tests.api.client import Management, error_code
from tests.support.pki import CA, Issued, pfx_cryptography, pfx_openssl, self_signed


def put(mgmt: Management, route: str, body: Any) -> requests.Response:
    return mgmt.session.put(f"{mgmt.base}/management/{route}", json=body, timeout=30)


def refused(response: requests.Response, code: str, target: str) -> None:
    assert response.status_code == 400, response.text
    assert error_code(response) == code and response.json()["error"]["target"] == target, response.text


def api_body(**props: Any) -> dict[str, Any]:
    return {"properties": {"path": "p", "serviceUrl": "https://backend.example", **props}}


@pytest.mark.parametrize(
    ("props", "target"),
    [
        ({"credentials": {"certifcateId": "x"}}, "properties.credentials.certifcateId"),
        (
            {"tls": {"validateCertificateChain": False, "validateCertifcateName": False}},
            "properties.tls.validateCertifcateName",
        ),
        ({"servicUrl": "https://x"}, "properties.servicUrl"),
        # misspelt credential kinds and their properties: refused rather than dropped
        ({"credentials": {"headers": {"x-api-key": ["k"]}}}, "properties.credentials.headers"),
        (
            {"credentials": {"authorization": {"scheme": "Basic", "parametr": "p"}}},
            "properties.credentials.authorization.parametr",
        ),
        ({"credentials": {"query": {"sv": "1"}}}, "properties.credentials.query.sv"),
        ({"tls": "strict"}, "properties.tls"),
        ({"credentials": {"certificateId": 5}}, "properties.credentials.certificateId"),
        ({"tls": {"validateCertificateName": "yes"}}, "properties.tls.validateCertificateName"),
        ({"serviceUrl": ["https://x"]}, "properties.serviceUrl"),
        ({"displayName": {"en": "Orders"}}, "properties.displayName"),
    ],
)
def test_api_refusals_name_the_property(
    mgmt: Management, uid: str, props: dict[str, Any], target: str
) -> None:
    body = api_body(**props)
    body["properties"]["path"] = uid
    refused(put(mgmt, f"apis/{uid}", body), "InvalidRequestBody", target)
    assert mgmt.get(f"/management/apis/{uid}").status_code == 404


def test_unknown_top_level_property(mgmt: Management, uid: str) -> None:
    body = {**api_body(path=uid), "location": "westeurope"}
    refused(put(mgmt, f"apis/{uid}", body), "InvalidRequestBody", "location")


@pytest.fixture(scope="module")
def issued() -> Issued:
    return CA.new("strict input root").issue_client("strict client")


def test_certificate_ids_with_one_id(mgmt: Management, uid: str, issued: Issued) -> None:
    assert mgmt.upload(uid, pfx_cryptography(issued, "pw"), "pw").status_code == 201
    body = api_body(path=uid, credentials={"certificateIds": [uid]})
    created = put(mgmt, f"apis/{uid}", body)
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["credentials"] == {"certificateId": uid}
    for credentials in (
        {"certificateIds": []},
        {"certificateIds": [uid, uid]},
        {"certificateId": uid, "certificateIds": [uid]},
    ):
        refused(
            put(mgmt, f"apis/{uid}-2", api_body(path=f"{uid}-2", credentials=credentials)),
            "InvalidRequestBody",
            "properties.credentials.certificateIds",
        )
    missing = put(
        mgmt, f"apis/{uid}-3", api_body(path=f"{uid}-3", credentials={"certificateIds": ["nothere"]})
    )
    assert missing.status_code == 400 and error_code(missing) == "CertificateNotFound"
    assert mgmt.get(f"/management/certificates/{uid}").json()["properties"]["usedBy"] == [uid]


@pytest.mark.parametrize(
    ("extra", "target"),
    [
        ({"pasword": "pw"}, "properties.pasword"),
        ({"keyVault": {"secretIdentifier": "https://vault.example/secrets/x"}}, "properties.keyVault"),
        ({"password": 1234}, "properties.password"),
    ],
)
def test_upload_refusals_name_the_property(
    mgmt: Management, uid: str, issued: Issued, extra: dict[str, Any], target: str
) -> None:
    body = {"properties": {"data": base64.b64encode(pfx_cryptography(issued, "")).decode(), **extra}}
    refused(put(mgmt, f"certificates/{uid}", body), "InvalidRequestBody", target)
    assert mgmt.get(f"/management/certificates/{uid}").status_code == 404


def test_damaged_files_are_invalid_certificates(
    mgmt: Management, uid: str, issued: Issued, tmp_path: Path
) -> None:
    for n, pfx in enumerate(
        (pfx_cryptography(issued, "pw"), pfx_openssl(issued, "pw", tmp_path, legacy=True))
    ):
        flipped = bytearray(pfx)
        flipped[len(pfx) // 2] ^= 0x01
        for damaged in (pfx[: len(pfx) // 3], pfx[:-1], bytes(flipped)):
            response = mgmt.upload(f"{uid}-{n}", damaged, "pw")
            refused(response, "InvalidCertificate", "data")
        refused(mgmt.upload(f"{uid}-{n}", pfx, "not it"), "InvalidPassword", "password")
        assert mgmt.get(f"/management/certificates/{uid}-{n}").status_code == 404


def test_read_only_facts(mgmt: Management, uid: str) -> None:
    ca = CA.new("facts root")
    long_lived = self_signed(
        "facts self", hostnames=("gw.example", "10.1.2.3"), not_after=datetime.now(UTC) + timedelta(days=400)
    )
    server = ca.issue_server(("backend.example",))  # serverAuth only, 30 days
    expected = {
        f"{uid}-self": (long_lived, ["DNS:gw.example", "IP:10.1.2.3"], ["SelfSigned"], 399),
        f"{uid}-server": (server, ["DNS:backend.example"], ["ExpiresSoon", "NotClientAuth"], 29),
    }
    for cert_id, (cert, names, warnings, days) in expected.items():
        created = mgmt.upload(cert_id, pfx_cryptography(cert, "pw"), "pw")
        assert created.status_code == 201, created.text
        for response in (created, mgmt.get(f"/management/certificates/{cert_id}")):
            props = response.json()["properties"]
            der = cert.cert.public_bytes(serialization.Encoding.DER)
            assert props["thumbprintSha256"] == hashlib.sha256(der).hexdigest().upper()
            assert props["subjectAlternativeNames"] == names
            assert props["warnings"] == warnings and props["daysToExpiry"] == days
    listed = mgmt.get("/management/certificates", params={"$top": "1000"}).json()["value"]
    mine = {c["name"]: c["properties"]["warnings"] for c in listed if c["name"].startswith(uid)}
    assert mine == {cert_id: facts[2] for cert_id, facts in expected.items()}


def test_a_row_stored_before_the_facts_still_reads(
    mgmt: Management, uid: str, issued: Issued, devhost_env: dict[str, str]
) -> None:
    assert mgmt.upload(uid, pfx_cryptography(issued, "pw"), "pw").status_code == 201
    table = TableClient.from_connection_string(
        devhost_env["AzureWebJobsStorage"], table_name=f"{devhost_env['CERTGATE_TABLE_PREFIX']}certificates"
    )
    with table:
        entity = table.get_entity("certificate", uid)
        for name in ("ThumbprintSha256", "SubjectAlternativeNames", "ClientAuth", "SelfSigned"):
            del entity[name]
        table.update_entity(entity, mode=UpdateMode.REPLACE)
    response = mgmt.get(f"/management/certificates/{uid}")
    assert response.status_code == 200, response.text
    props = response.json()["properties"]
    assert "thumbprintSha256" not in props and "subjectAlternativeNames" not in props
    assert props["warnings"] == ["ExpiresSoon"] and props["daysToExpiry"] == 29  # the CA's 30 days
    assert props["thumbprint"] == issued.thumbprint
