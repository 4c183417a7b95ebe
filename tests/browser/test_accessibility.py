"""axe-core on every view of the portal (no serious or critical violation), at a desktop width
and at 360 x 740, where no view scrolls sideways (long unbroken names included) and the upload
still works."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import MASTER_KEY, Portal, PortalPki, new_id, write_pfx
from tests.support.pki import Issued, pfx_cryptography
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


def arrange(admin: Management, leaf: Issued, n: str, mtls_url: str) -> str:
    """An API combining a certificate and a header (its Security tab shows both), and long
    unbroken names and values (they must wrap at 360 px, not widen the page); returns the long id."""
    assert admin.upload(f"a11y-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    long_id = (f"long-{n}-" + "x" * 80)[:80]
    assert admin.upload(long_id, pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    resources = {
        f"apis/a11y-{n}": {
            "displayName": f"Accessible {n}",
            "path": f"a11y{n}",
            "serviceUrl": mtls_url,
            "credentials": {"certificateId": f"a11y-{n}", "header": {"x-api-key": ["k"]}},
            "tls": {"validateCertificateChain": False},
        },
        f"apis/{long_id}": {
            "displayName": "D" * 120,
            "path": f"long{n}/" + "p" * 120,
            "serviceUrl": "https://" + "h" * 60 + ".example/" + "u" * 150,
            "credentials": {"header": {"x-" + "k" * 60: ["v" * 200]}},
        },
        f"namedValues/{long_id}": {
            "displayName": "N" * 100,
            "value": "v" * 300,
            "secret": False,
            "tags": ["t" * 60],
        },
    }
    for path, properties in resources.items():
        answer = admin.session.put(
            f"{admin.base}/management/{path}", json={"properties": properties}, timeout=30
        )
        assert answer.status_code == 201, answer.text
    return long_id


def test_every_view_accessible(
    portal: Portal, admin: Management, portal_pki: PortalPki, mtls_echo: EchoBackend, tmp_path: Path
) -> None:
    """Each view is checked at both widths in turn (the same page, resized): axe-core at each,
    and at 360 px no sideways scroll."""
    n, page = new_id(), portal.page
    leaf = portal_pki.client_root.issue_client(f"accessible client {n}", kind="ec")
    long_id = arrange(admin, leaf, n, mtls_echo.url)
    serious: dict[str, list[dict[str, object]]] = {}
    everything: dict[str, list[dict[str, object]]] = {}
    too_wide: dict[str, int] = {}

    def check(view: str) -> None:
        for viewport, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            violations = portal.axe()
            everything[f"{viewport} {view}"] = violations
            bad = [v for v in violations if v["impact"] in ("serious", "critical")]
            if bad:
                serious[f"{viewport} {view}"] = bad
            if viewport == "narrow":
                scroll = int(page.evaluate("document.documentElement.scrollWidth"))
                if scroll > width:
                    too_wide[view] = scroll
            portal.shot(f"{viewport}-{view}")
        page.set_viewport_size({"width": VIEWPORTS["wide"][0], "height": VIEWPORTS["wide"][1]})

    walk_views(portal, n, check)
    portal.open_api(long_id, "D" * 120)
    check("long-api-settings")
    portal.tab("Security")
    check("long-api-security")
    assert serious == {}, "axe-core, serious or critical (all violations follow):\n" + json.dumps(
        everything, indent=1
    )
    assert too_wide == {}, f"views wider than {VIEWPORTS['narrow'][0]} px (document scrollWidth): {too_wide}"

    # the upload and the list still work on a phone
    width, height = VIEWPORTS["narrow"]
    page.set_viewport_size({"width": width, "height": height})
    other = portal_pki.client_root.issue_client(f"narrow {n}", kind="ec")
    row = portal.uploaded(f"narrow-{n}", write_pfx(tmp_path, other, "pw"), "pw", other)
    expect(row).to_contain_text(other.subject)
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= width
    portal.shot("narrow-uploaded")
