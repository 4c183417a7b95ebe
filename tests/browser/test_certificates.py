"""The upload form's refusals, each the contract's error in the form's alert with nothing stored;
a rotation by upload under the same name; the delete dialog's edge cases: a certificate already
gone, a key refused mid-dialog."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import MASTER_KEY, Portal, PortalPki, gateway_get, new_id, write_pfx
from tests.services import DevHost
from tests.support.pki import pfx_cryptography
from tests.support.tls_backends import EchoBackend


def test_upload_refusals(portal: Portal, admin: Management, portal_pki: PortalPki, tmp_path: Path) -> None:
    n = new_id()
    root = portal_pki.client_root
    now = datetime.datetime.now(datetime.UTC)
    expired = root.issue_client(f"expired {n}", kind="ec", not_after=now - datetime.timedelta(days=1))
    files = {
        "InvalidCertificate": b"this is not a PKCS#12 file",
        "MissingPrivateKey": pfx_cryptography(
            root.issue_client(f"nokey {n}", kind="ec"), "pw", include_key=False
        ),
        "CertificateExpired": pfx_cryptography(expired, "pw"),
        "PayloadTooLarge": os.urandom(1024 * 1024),  # over CERTGATE_MAX_UPLOAD_BYTES once in base64
    }
    portal.signed_in()
    form = portal.open_upload()
    for code, data in files.items():
        probe = admin.upload(f"probe-{n}", data, "pw")
        assert probe.json()["error"]["code"] == code, probe.text
        pfx = tmp_path / f"{code}.pfx"
        pfx.write_bytes(data)
        name = f"bad-{code.lower()}-{n}"
        portal.submit_upload(form, name, pfx, "pw")
        expect(portal.alerts(form, probe.json()["error"]["message"])).to_be_visible()
        expect(portal.alerts(form, code)).to_be_visible()
        expect(form.get_by_label("Certificate file (.pfx)")).to_have_attribute("aria-invalid", "true")
        portal.shot(code)
        assert admin.get(f"/management/certificates/{name}").status_code == 404
    expect(portal.row("bad-", "Client certificates").filter(has_text=n)).to_have_count(0)

    # a bad name is the contract's InvalidIdentifier, the Name field marked
    pfx = tmp_path / "good.pfx"
    pfx.write_bytes(pfx_cryptography(root.issue_client(f"good {n}", kind="ec"), "pw"))
    portal.submit_upload(form, "-leading-dash", pfx, "pw")
    expect(portal.alerts(form, "InvalidIdentifier")).to_be_visible()
    expect(form.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")


def test_delete_of_a_certificate_already_gone(
    portal: Portal, admin: Management, portal_pki: PortalPki
) -> None:
    n = new_id()
    leaf = portal_pki.client_root.issue_client(f"gone {n}", kind="ec")
    assert admin.upload(f"gone-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    portal.signed_in()
    row = portal.row(f"gone-{n}", "Client certificates")
    expect(row).to_be_visible()
    assert admin.delete(f"/management/certificates/gone-{n}").status_code == 200  # meanwhile, elsewhere
    portal.button("Delete", row).click()
    dialog = portal.dialog(f"Delete certificate gone-{n}?")
    portal.expect_write(
        "DELETE", f"/certificates/gone-{n}", portal.button("Yes, delete it", dialog).click, ok=(204,)
    )
    expect(portal.statuses(re.compile(r"already gone", re.I))).to_be_visible()
    expect(row).to_have_count(0)


@pytest.mark.parametrize("answer", ["sign in", "sign out"])
def test_key_refused_inside_the_dialog(
    answer: str, portal: Portal, admin: Management, portal_pki: PortalPki
) -> None:
    """A 401 on "Yes, delete it": "Sign in again" opens over the delete dialog; signed in, the
    delete is sent again and done; signed out, nothing is deleted."""
    n = new_id()
    leaf = portal_pki.client_root.issue_client(f"kept {n}", kind="ec")
    assert admin.upload(f"kept-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    portal.signed_in()
    portal.button("Delete", portal.row(f"kept-{n}", "Client certificates")).click()
    dialog = portal.dialog(f"Delete certificate kept-{n}?")
    expect(dialog).to_be_visible()
    portal.rotate_key()
    portal.expect_write(
        "DELETE", f"/certificates/kept-{n}", portal.button("Yes, delete it", dialog).click, ok=(401,)
    )
    again = portal.dialog("Sign in again")
    expect(portal.alerts(again, re.compile(r"refused", re.I))).to_be_visible()
    expect(again.get_by_label("Management key")).to_be_focused()
    portal.shot(f"01-{answer}")
    assert admin.get(f"/management/certificates/kept-{n}").status_code == 200
    if answer == "sign in":
        again.get_by_label("Management key").fill(MASTER_KEY)
        portal.expect_write(
            "DELETE", f"/certificates/kept-{n}", again.get_by_role("button", name="Sign in").click
        )
        expect(again).to_have_count(0)
        expect(dialog).to_have_count(0)
        expect(portal.row(f"kept-{n}", "Client certificates")).to_have_count(0)
        assert admin.get(f"/management/certificates/kept-{n}").status_code == 404
    else:
        again.get_by_role("button", name="Sign out").click()
        expect(again).to_have_count(0)
        expect(dialog).to_have_count(0)
        expect(portal.key_field).to_be_focused()
        assert admin.get(f"/management/certificates/kept-{n}").status_code == 200


def test_rotation_through_upload(
    portal: Portal,
    admin: Management,
    portal_host: DevHost,
    portal_pki: PortalPki,
    mtls_echo: EchoBackend,
    tmp_path: Path,
) -> None:
    """Uploading under an existing name replaces the certificate (a rotation): the row and the
    gateway show the new one, the API's binding is untouched."""
    n = new_id()
    first = portal_pki.client_root.issue_client(f"rotate one {n}", kind="ec")
    second = portal_pki.client_root.issue_client(f"rotate two {n}", kind="ec")
    portal.signed_in()
    portal.uploaded(f"rot-{n}", write_pfx(tmp_path, first, "one", "one.pfx"), "one", first)
    put = admin.session.put(
        f"{admin.base}/management/apis/rot-{n}",
        json={
            "properties": {
                "path": f"rot{n}",
                "serviceUrl": mtls_echo.url,
                "credentials": {"certificateId": f"rot-{n}"},
                "tls": {"validateCertificateChain": False},
            }
        },
        timeout=30,
    )
    assert put.status_code == 201, put.text
    assert gateway_get(portal_host, f"rot{n}/x").json()["client_cert"]["thumbprint"] == first.thumbprint

    portal.upload_certificate(f"rot-{n}", write_pfx(tmp_path, second, "two", "two.pfx"), "two")
    row = portal.row(f"rot-{n}", "Client certificates")
    expect(row).to_contain_text(second.thumbprint[-4:])
    expect(row).to_contain_text(second.subject)
    expect(portal.statuses(re.compile(r"replaced", re.I))).to_be_visible()
    portal.shot("01-rotated", full=True)
    assert gateway_get(portal_host, f"rot{n}/x").json()["client_cert"]["thumbprint"] == second.thumbprint


def test_delete_dialog_once_and_closed_by_navigation(
    portal: Portal, admin: Management, portal_pki: PortalPki
) -> None:
    """A double click opens one dialog; going back in the browser's history closes it."""
    n = new_id()
    leaf = portal_pki.client_root.issue_client(f"twice {n}", kind="ec")
    assert admin.upload(f"twice-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    portal.signed_in()
    portal.go("APIs")
    portal.go("Client certificates")
    portal.button("Delete", portal.row(f"twice-{n}", "Client certificates")).dblclick()
    dialogs = portal.page.get_by_role("dialog")
    expect(dialogs).to_have_count(1)
    portal.page.go_back()
    expect(dialogs).to_have_count(0)
    expect(portal.table("APIs")).to_be_visible()
    assert admin.get(f"/management/certificates/twice-{n}").status_code == 200
