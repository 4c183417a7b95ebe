"""Text from the API is text: a certificate subject, an API display name and a named value's
display name holding markup render literally, and no script of theirs runs."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import Portal, new_id, write_pfx
from tests.support.pki import Issued, new_key

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"


def hostile_certificate(n: str) -> Issued:
    """Self-signed, its CN markup (pki's names add an O=; here the CN is all of it)."""
    key = new_key("ec")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, IMG + n)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def test_markup_renders_as_text(portal: Portal, admin: Management, tmp_path: Path) -> None:
    n = new_id()
    hostile = hostile_certificate(n)
    display = f"{SCRIPT} {n}"
    nv_display = f"{IMG} nv {n}"
    assert admin.put_api(f"xss-{n}", f"xss{n}", "https://xss.example").status_code == 201
    put = admin.session.put(
        f"{admin.base}/management/apis/xss-{n}",
        json={"properties": {"displayName": display, "path": f"xss{n}", "serviceUrl": "https://xss.example"}},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    nv = admin.session.put(
        f"{admin.base}/management/namedValues/xss-{n}",
        json={"properties": {"displayName": nv_display, "value": IMG, "secret": False}},
        timeout=30,
    )
    assert nv.status_code == 201, nv.text

    portal.signed_in()
    portal.uploaded(f"xss-{n}", write_pfx(tmp_path, hostile, "pw"), "pw", hostile)
    row = portal.row(f"xss-{n}", "Client certificates")
    expect(row.get_by_role("cell").filter(has_text=hostile.subject)).to_be_visible()
    expect(portal.statuses(hostile.subject)).to_be_visible()  # the upload's status names it too
    expect(row.get_by_role("img")).to_have_count(0)
    portal.shot("01-certificate")

    portal.go("Named values")
    nv_row = portal.row(f"xss-{n}", "Named values")
    expect(nv_row.get_by_text(nv_display, exact=True)).to_be_visible()
    expect(nv_row.get_by_text(IMG, exact=True)).to_be_visible()  # a plain value, shown as written
    expect(nv_row.get_by_role("img")).to_have_count(0)

    portal.open_api(f"xss-{n}", display)  # the heading is the display name, literally
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="Client certificates")
    options = panel.get_by_label("Client certificate", exact=True).get_by_role("option")
    expect(options.filter(has_text=hostile.subject)).to_have_count(1)
    portal.shot("02-api")

    assert portal.seen.dialogs == []
    assert portal.seen.errors == []
    assert portal.page.evaluate("document.querySelectorAll('main img, main script').length") == 0
