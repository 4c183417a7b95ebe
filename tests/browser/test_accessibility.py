"""axe-core on every view of the portal (no serious or critical violation), at a desktop width
and at 360 x 740, where no view scrolls sideways and the upload still works."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import MASTER_KEY, Portal, PortalPki, new_id, write_pfx
from tests.support.pki import pfx_cryptography
from tests.support.tls_backends import EchoBackend

VIEWPORTS = {"wide": (1280, 900), "narrow": (360, 740)}


def walk_views(portal: Portal, n: str, check: Callable[[str], None]) -> None:
    """Every view of docs/portal.md, `check` called on each (its name for the messages)."""
    page = portal.page
    portal.open()
    expect(portal.key_field).to_be_visible()
    check("sign-in")
    portal.sign_in()
    expect(portal.table("Client certificates")).to_be_visible()
    check("certificates")
    portal.open_upload()
    check("certificates-upload-form")
    portal.button("Cancel", portal.form("Upload certificate")).click()
    portal.button("Delete", portal.row(f"a11y-{n}", "Client certificates")).click()
    dialog = portal.dialog(f"Delete certificate a11y-{n}?")
    expect(portal.alerts(dialog, f"a11y-{n}")).to_be_visible()
    check("delete-dialog")
    portal.button("Cancel", dialog).click()
    portal.go("CA certificates")
    portal.button("Upload CA certificate").click()
    check("ca-certificates-upload-form")
    portal.go("Named values")
    expect(portal.table("Named values")).to_be_visible()
    portal.button("Add named value").click()
    check("named-values-form")
    portal.go("APIs")
    expect(portal.table("APIs")).to_be_visible()
    portal.button("Add API").click()
    check("apis-add-form")
    portal.open_api(f"a11y-{n}", f"Accessible {n}")
    check("api-settings")
    panel = portal.tab("Security")  # "Several": the certificate and the header both shown
    expect(panel.get_by_label("Client certificate", exact=True)).to_be_visible()
    expect(panel.get_by_label("Header name", exact=True)).to_be_visible()
    check("api-security")
    portal.tab("Policy")
    check("api-policy")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("region", name="Test report")).to_contain_text("Passed")
    check("test-report")
    portal.rotate_key()  # a key refused later: "Sign in again" over the page
    portal.go("Named values")
    again = portal.dialog("Sign in again")
    expect(again.get_by_label("Management key")).to_be_focused()
    check("sign-in-again")
    again.get_by_label("Management key").fill(MASTER_KEY)
    again.get_by_role("button", name="Sign in").click()
    expect(portal.table("Named values")).to_be_visible()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_view_accessible(
    viewport: str,
    portal: Portal,
    admin: Management,
    portal_pki: PortalPki,
    mtls_echo: EchoBackend,
    tmp_path: Path,
) -> None:
    n, page = new_id(), portal.page
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    leaf = portal_pki.client_root.issue_client(f"accessible client {n}", kind="ec")
    assert admin.upload(f"a11y-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    put = admin.session.put(
        f"{admin.base}/management/apis/a11y-{n}",
        json={
            "properties": {
                "displayName": f"Accessible {n}",
                "path": f"a11y{n}",
                "serviceUrl": mtls_echo.url,
                "credentials": {"certificateId": f"a11y-{n}", "header": {"x-api-key": ["k"]}},
                "tls": {"validateCertificateChain": False},
            }
        },
        timeout=30,
    )
    assert put.status_code == 201, put.text

    if viewport == "narrow":  # long unbroken names and values must wrap, not widen the page
        long_id = (f"long-{n}-" + "x" * 80)[:80]
        assert admin.upload(long_id, pfx_cryptography(leaf, "pw"), "pw").status_code == 201
        long_api = admin.session.put(
            f"{admin.base}/management/apis/{long_id}",
            json={
                "properties": {
                    "displayName": "D" * 120,
                    "path": f"long{n}/" + "p" * 120,
                    "serviceUrl": "https://" + "h" * 60 + ".example/" + "u" * 150,
                    "credentials": {"header": {"x-" + "k" * 60: ["v" * 200]}},
                }
            },
            timeout=30,
        )
        assert long_api.status_code == 201, long_api.text
        long_value = admin.session.put(
            f"{admin.base}/management/namedValues/{long_id}",
            json={
                "properties": {
                    "displayName": "N" * 100,
                    "value": "v" * 300,
                    "secret": False,
                    "tags": ["t" * 60],
                }
            },
            timeout=30,
        )
        assert long_value.status_code == 201, long_value.text

    serious: dict[str, list[dict[str, object]]] = {}
    everything: dict[str, list[dict[str, object]]] = {}
    too_wide: dict[str, int] = {}

    def check(view: str) -> None:
        violations = portal.axe()
        everything[view] = violations
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        if bad:
            serious[view] = bad
        if viewport == "narrow":
            scroll = int(page.evaluate("document.documentElement.scrollWidth"))
            if scroll > width:
                too_wide[view] = scroll
        portal.shot(f"{viewport}-{view}")

    walk_views(portal, n, check)
    if viewport == "narrow":
        portal.open_api(long_id, "D" * 120)
        check("long-api-settings")
        portal.tab("Security")
        check("long-api-security")
    assert serious == {}, "axe-core, serious or critical (all violations follow):\n" + json.dumps(
        everything, indent=1
    )
    assert too_wide == {}, f"views wider than {width} px (document scrollWidth): {too_wide}"

    if viewport == "narrow":  # the upload and the list still work on a phone
        other = portal_pki.client_root.issue_client(f"narrow {n}", kind="ec")
        row = portal.uploaded(f"narrow-{n}", write_pfx(tmp_path, other, "pw"), "pw", other)
        expect(row).to_contain_text(other.subject)
        assert int(page.evaluate("document.documentElement.scrollWidth")) <= width
        portal.shot("narrow-uploaded")
