"""The portal by keyboard alone (Tab, Shift+Tab, Enter, Space, Escape, arrows): sign in, upload a
certificate, open and cancel the delete dialog, bind the certificate on an API's Security tab,
confirm a delete; focus goes where a keyboard user needs it at each step."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.api.client import Management
from tests.browser.conftest import MASTER_KEY, Portal, PortalPki, new_id, option_label, write_pfx
from tests.support.pki import pfx_cryptography

LIMIT = 60  # key presses before a target counts as unreachable


def is_focused(locator: Locator) -> bool:
    return locator.count() == 1 and bool(locator.evaluate("e => e === document.activeElement"))


def focus_by_keyboard(page: Page, target: Locator, *, back: bool = False) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus, at most LIMIT times."""
    key = "Shift+Tab" if back else "Tab"
    expect(target).to_be_visible()  # a view still loading has nothing to tab to yet (bounded wait)
    for _ in range(LIMIT):
        if is_focused(target):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} not reached with {LIMIT} x {key}")


def focus_lands(page: Page, target: Locator, what: str, problems: list[str]) -> None:
    """Where focus lands by itself after an action: a miss is recorded and the walk goes on
    (the next step reaches its control by Tab anyway), so one miss hides no other."""
    try:
        expect(target).to_be_focused(timeout=5_000)
    except AssertionError:
        where = page.evaluate(
            "document.activeElement ? document.activeElement.outerHTML.slice(0, 80) : 'nothing'"
        )
        problems.append(f"{what}: focus is on {where}")


def selected_label(select: Locator) -> str:
    return str(select.evaluate("s => s.selectedOptions[0]?.textContent ?? ''"))


def arrow_to(page: Page, select: Locator, label: str) -> None:
    for _ in range(12):
        if selected_label(select) == label:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"option {label!r} not reached with ArrowDown; at {selected_label(select)!r}")


def test_keyboard_only(portal: Portal, admin: Management, portal_pki: PortalPki, tmp_path: Path) -> None:
    n, page, keys = new_id(), portal.page, portal.page.keyboard
    problems: list[str] = []
    leaf = portal_pki.client_root.issue_client(f"keyboard {n}", kind="ec")
    spare = portal_pki.client_root.issue_client(f"spare {n}", kind="ec")
    assert admin.upload(f"kb-spare-{n}", pfx_cryptography(spare, "pw"), "pw").status_code == 201
    assert admin.put_api(f"kb-{n}", f"kb{n}", "https://kb.example").status_code == 201
    pfx = write_pfx(tmp_path, leaf, "kb-pw")

    # sign in: the key field has the focus on arrival
    portal.open()
    expect(portal.key_field).to_be_focused()
    keys.type(MASTER_KEY)
    keys.press("Enter")
    focus_lands(page, page.get_by_role("heading", name="Client certificates"), "after sign-in", problems)

    # upload: the form's first field takes the focus, the file input is one tab stop
    upload = portal.button("Upload certificate")
    focus_by_keyboard(page, upload)
    keys.press("Enter")
    form = portal.form("Upload certificate")
    expect(form.get_by_label("Name", exact=True)).to_be_focused()
    keys.type(f"kb-{n}")
    keys.press("Tab")
    file_input = form.get_by_label("Certificate file (.pfx)")
    expect(file_input).to_be_focused()
    file_input.set_input_files(str(pfx))
    keys.press("Tab")
    expect(form.get_by_label("Password", exact=True)).to_be_focused()
    keys.type("kb-pw")
    portal.expect_write("PUT", f"/certificates/kb-{n}", lambda: keys.press("Enter"))
    expect(portal.row(f"kb-{n}", "Client certificates")).to_contain_text(leaf.thumbprint[-4:])
    focus_lands(page, upload, "after the upload (the form closed)", problems)
    portal.shot("01-uploaded")

    # delete: the dialog takes the focus (Cancel first), Cancel and Escape give it back
    delete = portal.button("Delete", portal.row(f"kb-{n}", "Client certificates"))
    focus_by_keyboard(page, delete)
    keys.press("Enter")
    dialog = portal.dialog(f"Delete certificate kb-{n}?")
    expect(portal.button("Cancel", dialog)).to_be_focused()
    portal.shot("02-delete-dialog")
    keys.press("Enter")
    expect(dialog).to_have_count(0)
    expect(delete).to_be_focused()
    keys.press("Space")
    expect(portal.button("Cancel", dialog)).to_be_focused()
    keys.press("Escape")
    expect(dialog).to_have_count(0)
    expect(delete).to_be_focused()

    # the Security tab: arrows between tabs, the selects by arrows, Save by Enter
    apis = portal.nav("APIs")
    focus_by_keyboard(page, apis, back=True)
    keys.press("Enter")
    focus_lands(
        page, page.get_by_role("heading", name="APIs", exact=True), "after following the APIs link", problems
    )
    link = portal.table("APIs").get_by_role("link", name=f"kb-{n}", exact=True)
    focus_by_keyboard(page, link)
    keys.press("Enter")
    focus_lands(
        page, page.get_by_role("heading", name=f"kb-{n}", exact=True), "after opening an API", problems
    )
    settings = page.get_by_role("tab", name="Settings")
    expect(settings).to_have_attribute("aria-selected", "true")
    focus_by_keyboard(page, settings)
    keys.press("ArrowRight")
    security = page.get_by_role("tab", name="Security")
    expect(security).to_be_focused()
    expect(security).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel", name="Security")
    kind = panel.get_by_label("With credentials")
    focus_by_keyboard(page, kind)
    arrow_to(page, kind, "Client certificates")
    certificate = panel.get_by_label("Client certificate", exact=True)
    expect(certificate).to_be_visible()
    focus_by_keyboard(page, certificate)
    arrow_to(page, certificate, option_label(leaf))
    save = portal.button("Save", panel)
    focus_by_keyboard(page, save)
    portal.expect_write("PUT", f"/apis/kb-{n}", lambda: keys.press("Enter"), ok=(200,))
    expect(panel.get_by_role("status").filter(has_text=re.compile(r"\S"))).to_be_visible()
    focus_lands(page, save, "after the Security tab's Save (its form rebuilt)", problems)
    assert admin.get(f"/management/apis/kb-{n}").json()["properties"]["credentials"] == {
        "certificateId": f"kb-{n}"
    }
    portal.shot("03-security-saved")

    # confirm a delete: Shift+Tab from Cancel to "Yes, delete it", Space
    certificates = portal.nav("Client certificates")
    focus_by_keyboard(page, certificates, back=True)
    keys.press("Enter")
    spare_delete = portal.button("Delete", portal.row(f"kb-spare-{n}", "Client certificates"))
    focus_by_keyboard(page, spare_delete)
    keys.press("Enter")
    dialog = portal.dialog(f"Delete certificate kb-spare-{n}?")
    expect(portal.button("Cancel", dialog)).to_be_focused()
    keys.press("Shift+Tab")
    expect(portal.button("Yes, delete it", dialog)).to_be_focused()
    portal.expect_write("DELETE", f"/certificates/kb-spare-{n}", lambda: keys.press("Space"))
    expect(portal.row(f"kb-spare-{n}", "Client certificates")).to_have_count(0)
    portal.shot("04-deleted")
    # the opener is gone with its row: focus must land somewhere a keyboard user can go on from
    if page.evaluate("document.activeElement === null || document.activeElement === document.body"):
        problems.append(
            "after a confirmed delete: focus fell back to <body> (its Delete button went with the row)"
        )
    assert problems == [], "focus did not land where a keyboard user needs it:\n" + "\n".join(problems)
