"""Certificates against a real Azurite: encryption at rest, rotation order, re-encryption,
and the scan that finds no secret in any table entity or blob."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from shared.config import load_settings
from shared.envelope import key_id_of
from shared.models import NamedValueSpec, Upload
from shared.services import Services, build_services
from shared.storage.blobs import blob_name
from tests.support.pki import CA, pfx_cryptography, pfx_openssl


def all_stored_bytes(services: Services) -> list[bytes]:
    """Every table entity (as text) and every blob of this test's storage."""
    stored: list[bytes] = []
    for table in services.clients.tables.values():
        for entity in table.list_entities():
            stored.append(repr(dict(entity)).encode())
    container = services.clients.container
    for blob in container.list_blobs():
        stored.append(container.download_blob(blob.name).readall())
        stored.append(repr(blob.metadata).encode())
    return stored


def test_no_secret_reaches_storage(services: Services, tmp_path: Path) -> None:
    ca = CA.new("scan root")
    password = "Sc4n-me-if-you-can"
    uploads = []
    for n, (kind, chained) in enumerate([("rsa", False), ("ec", False), ("rsa", True)]):
        issuer = ca.intermediate(f"inter {n}") if chained else ca
        issued = issuer.issue_client(f"scan {n}", kind=kind)  # type: ignore[arg-type]
        pfx = pfx_openssl(issued, password, tmp_path) if chained else pfx_cryptography(issued, password)
        services.certificates.upload(f"scan{n}", Upload(pfx, password))
        uploads.append((issued, pfx))
    named_secret = "N4med-v4lue-at-rest"
    services.named_values.put("scan-secret", NamedValueSpec("scan", named_secret, secret=True))
    stored = all_stored_bytes(services)
    assert len(stored) >= 7
    needles = [password.encode(), password.encode("utf-16-be")]
    needles += [
        named_secret.encode(),
        base64.b64encode(named_secret.encode()),
        named_secret.encode("utf-16-be"),
    ]
    for issued, pfx in uploads:
        der = issued.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        pem = issued.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        trad = issued.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        needles += [
            der[-64:],
            pem,
            trad,
            pfx,
            base64.b64encode(pfx),
            base64.b64encode(der)[:64],
            b"PRIVATE KEY",
        ]
    for blob in stored:
        for needle in needles:
            assert needle not in blob
    # and the material is really there, encrypted: it opens to the key with the ring
    cert = services.certificates.get("scan0")
    assert b"PRIVATE KEY" in services.certificates.load_material(cert)
    assert services.named_values.get("scan-secret").spec.value == named_secret


def test_replacement_writes_blob_first_and_removes_the_old_one(services: Services) -> None:
    ca = CA.new("rotation root")
    first = pfx_cryptography(ca.issue_client("one"), "pw")
    second = pfx_cryptography(ca.issue_client("two"), "pw")
    v1, created = services.certificates.upload("rot", Upload(first, "pw"))
    assert created
    v2, created = services.certificates.upload("rot", Upload(second, "pw"))
    assert not created and v2.version != v1.version
    names = services.clients.container.list_blobs(name_starts_with="rot/")
    assert [b.name for b in names] == [blob_name("rot", v2.version)]
    assert services.certificates.delete("rot")
    assert list(services.clients.container.list_blobs(name_starts_with="rot/")) == []


def test_key_ring_rotation_and_reencryption(app_env: dict[str, str], services: Services) -> None:
    ca = CA.new("ring root")
    services.certificates.upload("ringed", Upload(pfx_cryptography(ca.issue_client("r"), "pw"), "pw"))
    new_key = "t2:" + base64.b64encode(b"n" * 32).decode()
    rotated = build_services(
        load_settings(
            {**app_env, "CERTGATE_ENCRYPTION_KEYS": f"{app_env['CERTGATE_ENCRYPTION_KEYS']},{new_key}"}
        )
    )
    cert = rotated.certificates.get("ringed")
    assert rotated.certificates.load_material(cert)  # old blob, old key, still readable
    assert rotated.certificates.reencrypt_all() == (1, 0)
    assert rotated.certificates.reencrypt_all() == (0, 1)
    sealed = services.clients.container.download_blob(blob_name("ringed", cert.version)).readall()
    assert key_id_of(sealed) == "t2"
    only_new = build_services(load_settings({**app_env, "CERTGATE_ENCRYPTION_KEYS": new_key}))
    assert b"PRIVATE KEY" in only_new.certificates.load_material(cert)


def test_identical_reupload_writes_nothing(services: Services) -> None:
    issued = CA.new("idempotent root").issue_client("same")
    first, created = services.certificates.upload("same", Upload(pfx_cryptography(issued, "a"), "a"))
    again, created_again = services.certificates.upload("same", Upload(pfx_cryptography(issued, "b"), "b"))
    assert created and not created_again
    assert (again.etag, again.version) == (first.etag, first.version)
    assert [b.name for b in services.clients.container.list_blobs()] == [blob_name("same", first.version)]
