"""The certificate routes over HTTP through the local host, per the contract."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.api.client import Management, error_code
from tests.support.pki import CA, Issued, pfx_cryptography, pfx_openssl, self_signed


def test_upload_get_and_replace(mgmt: Management, client_rsa: Issued, uid: str) -> None:
    pfx = pfx_cryptography(client_rsa, "s3cret")
    created = mgmt.upload(uid, pfx, "s3cret")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == f"/certificates/{uid}" and body["name"] == uid and body["type"] == "certificates"
    props = body["properties"]
    assert props["thumbprint"] == client_rsa.thumbprint
    assert props["subject"] == client_rsa.subject
    expected_expiry = client_rsa.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert props["expirationDate"] == expected_expiry
    assert props["keyType"] == "RSA-2048" and props["chainLength"] == 1
    assert "password" not in created.text and "s3cret" not in created.text
    etag = created.headers["ETag"]

    got = mgmt.get(f"/management/certificates/{uid}")
    assert got.status_code == 200 and got.json() == body and got.headers["ETag"] == etag

    other = pfx_cryptography(self_signed(f"other-{uid}"), "pw2")
    replaced = mgmt.upload(uid, other, "pw2")
    assert replaced.status_code == 200
    assert replaced.json()["properties"]["thumbprint"] != client_rsa.thumbprint
    assert replaced.headers["ETag"] != etag


def test_identical_reupload_is_a_no_op(mgmt: Management, client_ec: Issued, uid: str) -> None:
    pfx = pfx_cryptography(client_ec, "pw")
    first = mgmt.upload(uid, pfx, "pw")
    again = mgmt.upload(uid, pfx_cryptography(client_ec, "another password"), "another password")
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.json()["properties"]["thumbprint"] == first.json()["properties"]["thumbprint"]


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("encoding", ["aes256", "legacy", "none"])
def test_cryptography_encodings(mgmt: Management, ca: CA, kind: str, encoding: str, uid: str) -> None:
    issued = ca.issue_client(f"c-{uid}", kind=kind)  # type: ignore[arg-type]
    password = "" if encoding == "none" else "pässwörd-✓"
    response = mgmt.upload(uid, pfx_cryptography(issued, password, encoding=encoding), password)  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["thumbprint"] == issued.thumbprint


@pytest.mark.parametrize("variant", ["default", "legacy", "des3", "empty"])
@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_openssl_encodings(mgmt: Management, ca: CA, tmp: Path, variant: str, kind: str, uid: str) -> None:
    issued = ca.issue_client(f"o-{uid}", kind=kind)  # type: ignore[arg-type]
    password = "" if variant == "empty" else "open-ssl pw"
    pfx = pfx_openssl(issued, password, tmp, legacy=variant == "legacy", des3=variant == "des3")
    response = mgmt.upload(uid, pfx, password)
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["thumbprint"] == issued.thumbprint


def test_intermediates_are_kept(mgmt: Management, ca: CA, tmp: Path, uid: str) -> None:
    issued = ca.intermediate(f"inter-{uid}").issue_client(f"leaf-{uid}")
    response = mgmt.upload(uid, pfx_openssl(issued, "pw", tmp), "pw")
    assert response.status_code == 201, response.text
    assert response.json()["properties"]["chainLength"] == 2


def test_missing_password_means_empty(mgmt: Management, client_rsa: Issued, uid: str) -> None:
    response = mgmt.upload(uid, pfx_cryptography(client_rsa, "", encoding="none"), None)
    assert response.status_code == 201, response.text


def test_wrong_password_stores_nothing(mgmt: Management, client_rsa: Issued, uid: str) -> None:
    response = mgmt.upload(uid, pfx_cryptography(client_rsa, "right"), "wrong")
    assert response.status_code == 400 and error_code(response) == "InvalidPassword"
    assert mgmt.get(f"/management/certificates/{uid}").status_code == 404


def test_wrong_password_keeps_the_existing_version(mgmt: Management, client_rsa: Issued, uid: str) -> None:
    first = mgmt.upload(uid, pfx_cryptography(client_rsa, "right"), "right")
    refused = mgmt.upload(uid, pfx_cryptography(self_signed("x"), "right"), "wrong")
    assert refused.status_code == 400
    after = mgmt.get(f"/management/certificates/{uid}")
    assert after.headers["ETag"] == first.headers["ETag"]
    assert after.json()["properties"]["thumbprint"] == client_rsa.thumbprint


def test_refusals(mgmt: Management, client_rsa: Issued, tmp: Path, uid: str) -> None:
    nokeys = pfx_openssl(client_rsa, "pw", tmp, nokeys=True)
    assert error_code(mgmt.upload(uid, nokeys, "pw")) == "MissingPrivateKey"
    expired = self_signed(
        "old",
        not_before=datetime.now(UTC) - timedelta(days=10),
        not_after=datetime.now(UTC) - timedelta(days=1),
    )
    assert error_code(mgmt.upload(uid, pfx_cryptography(expired, "pw"), "pw")) == "CertificateExpired"
    assert error_code(mgmt.upload(uid, b"not a pfx at all", "pw")) == "InvalidCertificate"
    assert error_code(mgmt.upload(uid, client_rsa.cert_pem, "pw")) == "InvalidCertificate"
    url = f"{mgmt.base}/management/certificates/{uid}"
    for body in (b"{", b"[]", b'{"properties": {"data": "%%%"}}', b'{"properties": {"password": "x"}}'):
        response = mgmt.session.put(url, data=body, timeout=10)
        assert response.status_code == 400 and error_code(response) == "InvalidRequestBody", body
    assert mgmt.get(f"/management/certificates/{uid}").status_code == 404


def test_too_large(mgmt: Management, uid: str) -> None:
    data = base64.b64encode(b"x" * 1_100_000).decode()
    response = mgmt.session.put(
        f"{mgmt.base}/management/certificates/{uid}", json={"properties": {"data": data}}, timeout=30
    )
    assert response.status_code == 413 and error_code(response) == "PayloadTooLarge"


@pytest.mark.parametrize("bad", ["-x", "a" * 81, "a%20b", "caf%C3%A9"])
def test_invalid_identifier(mgmt: Management, client_rsa: Issued, bad: str) -> None:
    for response in (
        mgmt.upload(bad, pfx_cryptography(client_rsa, "pw"), "pw"),
        mgmt.get(f"/management/certificates/{bad}"),
        mgmt.delete(f"/management/certificates/{bad}"),
    ):
        assert response.status_code == 400 and error_code(response) == "InvalidIdentifier"


def test_conditional_requests(mgmt: Management, client_rsa: Issued, uid: str) -> None:
    pfx = pfx_cryptography(client_rsa, "pw")
    assert mgmt.upload(uid, pfx, "pw", If_Match="*").status_code == 412
    created = mgmt.upload(uid, pfx, "pw", If_None_Match="*")
    assert created.status_code == 201
    assert mgmt.upload(uid, pfx, "pw", If_None_Match="*").status_code == 412
    other = pfx_cryptography(self_signed(f"o{uid}"), "pw")
    assert error_code(mgmt.upload(uid, other, "pw", If_Match='"stale"')) == "PreconditionFailed"
    assert mgmt.upload(uid, other, "pw", If_Match=created.headers["ETag"]).status_code == 200
    assert mgmt.delete(f"/management/certificates/{uid}", If_Match='"stale"').status_code == 412
    assert mgmt.delete(f"/management/certificates/{uid}", If_Match="*").status_code == 200
    assert mgmt.delete(f"/management/certificates/{uid}", If_Match="*").status_code == 412
    assert mgmt.delete(f"/management/certificates/{uid}").status_code == 204


def test_get_missing(mgmt: Management, uid: str) -> None:
    response = mgmt.get(f"/management/certificates/{uid}")
    assert response.status_code == 404 and error_code(response) == "ResourceNotFound"


def test_delete_refused_while_in_use(mgmt: Management, client_rsa: Issued, uid: str) -> None:
    assert mgmt.upload(uid, pfx_cryptography(client_rsa, "pw"), "pw").status_code == 201
    for n in (2, 1):
        put = mgmt.put_api(f"{uid}-api{n}", f"{uid}/p{n}", "https://backend.invalid", uid)
        assert put.status_code == 201, put.text
    refused = mgmt.delete(f"/management/certificates/{uid}")
    assert refused.status_code == 409 and error_code(refused) == "CertificateInUse"
    details = refused.json()["error"]["details"]
    assert [d["target"] for d in details] == [f"{uid}-api1", f"{uid}-api2"]
    assert mgmt.get(f"/management/certificates/{uid}").json()["properties"]["usedBy"] == [
        f"{uid}-api1",
        f"{uid}-api2",
    ]
    for n in (1, 2):
        assert mgmt.delete(f"/management/apis/{uid}-api{n}").status_code == 200
    assert mgmt.delete(f"/management/certificates/{uid}").status_code == 200
    assert mgmt.get(f"/management/certificates/{uid}").status_code == 404


def test_delete_with_the_uploads_etag_while_in_use(mgmt: Management, client_rsa: Issued, uid: str) -> None:
    """Binds, a change and an unbind never move the ETag: If-Match with the upload's is 409, not 412."""
    item = f"/management/certificates/{uid}"
    etag = mgmt.upload(uid, pfx_cryptography(client_rsa, "pw"), "pw").headers["ETag"]
    for n in (1, 2, 3):
        assert mgmt.put_api(f"{uid}-a{n}", f"{uid}/a{n}", "https://backend.invalid", uid).status_code == 201
    assert mgmt.put_api(f"{uid}-a1", f"{uid}/a1b", "https://backend.invalid", uid).status_code == 200
    assert mgmt.put_api(f"{uid}-a3", f"{uid}/a3", "https://backend.invalid").status_code == 200  # unbound
    refused = mgmt.delete(item, If_Match=etag)
    assert refused.status_code == 409 and error_code(refused) == "CertificateInUse", refused.text
    assert [d["target"] for d in refused.json()["error"]["details"]] == [f"{uid}-a1", f"{uid}-a2"]
    assert mgmt.head(item).headers["ETag"] == etag  # the refused delete changed nothing either
    assert mgmt.delete(item, If_Match='"stale"').status_code == 412  # the twin: a wrong ETag
    for n in (1, 2, 3):
        assert mgmt.delete(f"/management/apis/{uid}-a{n}").status_code == 200
    assert mgmt.delete(item, If_Match=etag).status_code == 200


def test_head(mgmt: Management, client_ec: Issued, uid: str) -> None:
    item = f"/management/certificates/{uid}"
    missing = mgmt.head(item)
    assert missing.status_code == 404 and missing.content == b""
    etag = mgmt.upload(uid, pfx_cryptography(client_ec, "pw"), "pw").headers["ETag"]
    found = mgmt.head(item)
    assert found.status_code == 200 and found.content == b""
    assert found.headers["ETag"] == etag == mgmt.get(item).headers["ETag"]
    assert mgmt.head("/management/certificates/bad%20id").status_code == 400
    assert mgmt.delete(item).status_code == 200
    assert mgmt.head(item).status_code == 404
