"""CA certificates through the page: a PEM upload is listed by subject; a file holding a private
key is refused with the contract's message and stores nothing; delete, refused while an API
trusts it, then gone."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import Portal, b64, new_id, write_pem
from tests.support.pki import CA


def test_ca_certificate_upload_refusal_and_delete(portal: Portal, admin: Management, tmp_path: Path) -> None:
    n = new_id()
    root, name = CA.new(f"portal corp root {n}", "ec"), f"corp-{n}"
    portal.signed_in()

    # a private key in the file: the contract's InvalidCertificate, nothing stored
    with_key = tmp_path / "with-key.pem"
    issued = root.issue_client(f"not a ca {n}", kind="ec")
    with_key.write_bytes(issued.cert_pem + issued.key_pem)
    probe = admin.session.put(
        f"{admin.base}/management/caCertificates/probe-{n}",
        json={"properties": {"data": b64(with_key.read_bytes())}},
        timeout=30,
    )
    assert probe.status_code == 400 and probe.json()["error"]["code"] == "InvalidCertificate", probe.text
    form = portal.upload_ca(f"bad-{n}", with_key)
    expect(portal.alerts(form, probe.json()["error"]["message"])).to_be_visible()
    expect(portal.row(f"bad-{n}", "CA certificates")).to_have_count(0)
    assert admin.get(f"/management/caCertificates/bad-{n}").status_code == 404
    portal.shot("01-private-key-refused")
    portal.button("Cancel", form).click()

    # a PEM CA certificate: listed with its subject and thumbprint
    portal.upload_ca(name, write_pem(tmp_path, root))
    row = portal.row(name, "CA certificates")
    expect(row).to_contain_text(root.cert.subject.rfc4514_string())
    thumbprint = admin.get(f"/management/caCertificates/{name}").json()["properties"]["thumbprint"]
    expect(row.get_by_text(thumbprint[-4:], exact=True)).to_be_visible()
    portal.shot("02-listed")

    # trusted by an API: the dialog names it, the delete is refused and shown
    api = admin.session.put(
        f"{admin.base}/management/apis/ca-user-{n}",
        json={
            "properties": {
                "path": f"ca{n}",
                "serviceUrl": "https://ca.example",
                "tls": {"caCertificateIds": [name]},
            }
        },
        timeout=30,
    )
    assert api.status_code == 201, api.text
    portal.go("APIs")
    portal.go("CA certificates")
    expect(row).to_contain_text(f"ca-user-{n}")
    portal.button("Delete", row).click()
    dialog = portal.dialog(f"Delete CA certificate {name}?")
    expect(portal.alerts(dialog, f"ca-user-{n}")).to_be_visible()
    portal.button("Yes, delete it", dialog).click()
    expect(portal.alerts(dialog, "CertificateInUse")).to_be_visible()
    portal.shot("03-delete-refused")
    portal.button("Cancel", dialog).click()
    assert admin.delete(f"/management/apis/ca-user-{n}").status_code == 200

    # unused: deleted
    portal.go("APIs")
    portal.go("CA certificates")
    portal.button("Delete", row).click()
    dialog = portal.dialog(f"Delete CA certificate {name}?")
    portal.expect_write("DELETE", f"/caCertificates/{name}", portal.button("Yes, delete it", dialog).click)
    expect(row).to_have_count(0)
    expect(portal.statuses(name)).to_be_visible()
    assert admin.get(f"/management/caCertificates/{name}").status_code == 404
