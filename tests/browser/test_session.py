"""The management key lives in the tab's sessionStorage only, goes out as `x-functions-key` on
every management call and nowhere else; Sign out forgets it; a key refused later asks again over
the page ("Sign in again") and sends the refused call again (docs/portal.md)."""

from __future__ import annotations

import re
import tempfile

from playwright.sync_api import BrowserContext, Locator, Page, Playwright, expect

from tests.api.client import Management
from tests.browser.conftest import MASTER_KEY, Portal, gateway_get, launch_context, new_id
from tests.services import DevHost
from tests.support.tls_backends import EchoBackend


def storage_text(page: Page, area: str) -> str:
    return str(page.evaluate(f"() => JSON.stringify(Object.entries({area}))"))


def asks_for_key(page: Page) -> None:
    expect(page.get_by_label("Management key")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="APIs")).to_be_hidden()


def test_key_kept_in_session_storage_only(
    portal: Portal, browser_context: BrowserContext, playwright_session: Playwright
) -> None:
    page = portal.page
    portal.signed_in()
    for view in ("CA certificates", "Named values", "APIs", "Client certificates"):
        portal.go(view)
        expect(portal.page.get_by_role("table", name=view, exact=True)).to_be_visible()
    portal.shot("01-signed-in")

    assert MASTER_KEY in storage_text(page, "sessionStorage")
    assert MASTER_KEY not in storage_text(page, "localStorage")
    assert MASTER_KEY not in page.evaluate("document.cookie")
    assert all(MASTER_KEY not in str(c) for c in browser_context.cookies())
    assert MASTER_KEY not in page.url
    leaked = [r.url for r in portal.seen.requests if MASTER_KEY in r.url]
    assert leaked == [], leaked
    calls = portal.seen.management_requests()
    assert len(calls) >= 5, [r.url for r in calls]  # the sign-in check and one list per view
    unsigned = [r.url for r in calls if r.headers.get("x-functions-key") != MASTER_KEY]
    assert unsigned == [], unsigned
    assert all("code=" not in r.url for r in calls)

    # another tab of the same browser has its own session storage: it asks again
    other = browser_context.new_page()
    try:
        other.goto(f"{portal.base}/portal")
        asks_for_key(other)
    finally:
        other.close()

    page.get_by_role("button", name="Sign out").click()
    asks_for_key(page)
    expect(portal.statuses(re.compile(r"signed out", re.I))).to_be_visible()
    assert MASTER_KEY not in storage_text(page, "sessionStorage")
    page.reload()
    asks_for_key(page)
    portal.shot("02-signed-out")

    # a new browser profile (a new context) asks for the key too
    with tempfile.TemporaryDirectory(prefix="certgate-chromium-") as profile:
        fresh = launch_context(playwright_session, profile)
        try:
            tab = fresh.new_page()
            tab.goto(f"{portal.base}/portal")
            asks_for_key(tab)
        finally:
            fresh.close()


def test_refused_key_is_not_kept(portal: Portal) -> None:
    portal.open()
    portal.sign_in("")  # nothing typed: asked for, nothing sent
    expect(portal.alerts(text=re.compile(r"Enter the management key", re.I))).to_be_visible()
    assert portal.seen.management_requests() == []
    portal.sign_in("a-wrong-key")
    expect(portal.alerts(text=re.compile(r"refused", re.I))).to_be_visible()
    asks_for_key(portal.page)
    assert "a-wrong-key" not in storage_text(portal.page, "sessionStorage")
    assert "a-wrong-key" not in portal.page.url


def sign_in_again(portal: Portal) -> Locator:
    """The dialog a key refused later opens over the page: the refusal in an alert, the key
    field (emptied, focused) asked again."""
    dialog = portal.dialog("Sign in again")
    expect(portal.alerts(dialog, re.compile(r"refused", re.I))).to_be_visible()
    key = dialog.get_by_label("Management key")
    expect(key).to_be_focused()
    expect(key).to_have_value("")
    expect(dialog.get_by_role("button", name="Sign in")).to_be_visible()
    expect(dialog.get_by_role("button", name="Sign out")).to_be_visible()
    return dialog


def test_key_that_stops_working_on_navigation(portal: Portal) -> None:
    """A 401 later on (the key was rotated meanwhile) asks again over the page; the new key is
    kept and the refused call is sent again with it."""
    portal.signed_in()
    page = portal.page
    portal.rotate_key()
    assert "rotated-away" in storage_text(page, "sessionStorage")
    portal.nav("APIs").click()
    dialog = sign_in_again(portal)
    portal.shot("01-key-refused-later")
    # a wrong key again: refused again, still asked
    dialog.get_by_label("Management key").fill("still-wrong")
    dialog.get_by_role("button", name="Sign in").click()
    expect(portal.alerts(dialog, re.compile(r"refused", re.I))).to_be_visible()
    expect(dialog.get_by_label("Management key")).to_have_value("")
    # the master key: the dialog closes and the view that was refused loads
    dialog.get_by_label("Management key").fill(MASTER_KEY)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_have_count(0)
    expect(portal.table("APIs")).to_be_visible()
    stored = storage_text(page, "sessionStorage")
    assert MASTER_KEY in stored and "rotated-away" not in stored and "still-wrong" not in stored
    refused = [r for r in portal.seen.management_requests() if r.headers.get("x-functions-key") != MASTER_KEY]
    assert {r.headers.get("x-functions-key") for r in refused} == {"rotated-away", "still-wrong"}


def test_key_that_stops_working_on_reload(portal: Portal) -> None:
    """The same on a reload; its "Sign out" leaves: back at the sign-in page, the key forgotten."""
    portal.signed_in(route="/apis")
    portal.rotate_key()
    portal.page.reload()
    dialog = sign_in_again(portal)
    dialog.get_by_role("button", name="Sign out").click()
    expect(dialog).to_have_count(0)
    asks_for_key(portal.page)
    assert "rotated-away" not in storage_text(portal.page, "sessionStorage")


def test_key_refused_mid_edit_keeps_the_edit(portal: Portal, admin: Management) -> None:
    """What was typed survives a refused key: the Add API form's call goes out again once the
    operator signs in again, and the API is created."""
    n = new_id()
    portal.signed_in()
    portal.go("APIs")
    portal.button("Add API").click()
    form = portal.form("Add API")
    form.get_by_label("Name", exact=True).fill(f"kept-{n}")
    form.get_by_label("Path", exact=True).fill(f"kept{n}")
    form.get_by_label("Backend URL", exact=True).fill("https://kept.example")
    portal.rotate_key()
    portal.button("Create", form).click()
    dialog = sign_in_again(portal)
    assert admin.get(f"/management/apis/kept-{n}").status_code == 404
    dialog.get_by_label("Management key").fill(MASTER_KEY)
    portal.expect_write("PUT", f"/apis/kept-{n}", dialog.get_by_role("button", name="Sign in").click)
    expect(portal.row(f"kept-{n}", "APIs")).to_be_visible()
    assert admin.get(f"/management/apis/kept-{n}").json()["properties"]["path"] == f"kept{n}"


def test_shared_link_opens_after_sign_in(portal: Portal, admin: Management) -> None:
    """A hash route (a reload, a shared link) opens the same view once signed in."""
    n = new_id()
    assert admin.put_api(f"link-{n}", f"link{n}", "https://link.example").status_code == 201
    portal.open(f"/apis/link-{n}/security")
    asks_for_key(portal.page)
    portal.sign_in()
    expect(portal.page.get_by_role("heading", name=f"link-{n}", exact=True)).to_be_visible()
    expect(portal.page.get_by_role("tab", name="Security")).to_have_attribute("aria-selected", "true")
    expect(
        portal.page.get_by_role("tabpanel", name="Security").get_by_label("With credentials")
    ).to_be_visible()
    expect(portal.nav("APIs")).to_have_attribute("aria-current", "page")


def test_sign_out_reaches_a_duplicated_tab(portal: Portal, browser_context: BrowserContext) -> None:
    """A tab opened from this one copies its session storage (signed in too); Sign out in one
    signs both out."""
    portal.signed_in()
    with browser_context.expect_page() as opened:
        portal.page.evaluate("window.open(location.href)")
    other = opened.value
    try:
        expect(other.get_by_role("navigation").get_by_role("link", name="APIs")).to_be_visible()
        assert MASTER_KEY in storage_text(other, "sessionStorage")
        portal.page.get_by_role("button", name="Sign out").click()
        asks_for_key(portal.page)
        asks_for_key(other)
        assert MASTER_KEY not in storage_text(other, "sessionStorage")
    finally:
        other.close()


def test_key_refused_on_a_security_save_keeps_the_edit(
    portal: Portal, admin: Management, portal_host: DevHost, plain_echo: EchoBackend
) -> None:
    """The Security tab's Save refused for the key: signed in again, the same edit is saved."""
    n = new_id()
    assert admin.put_api(f"resend-{n}", f"resend{n}", plain_echo.url).status_code == 201
    portal.signed_in()
    portal.open_api(f"resend-{n}")
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="Header")
    panel.get_by_label("Header name", exact=True).fill("x-resent")
    panel.get_by_label("Header value", exact=True).fill(f"v-{n}")
    portal.rotate_key()
    portal.expect_write("PUT", f"/apis/resend-{n}", portal.button("Save", panel).click, ok=(401,))
    dialog = sign_in_again(portal)
    dialog.get_by_label("Management key").fill(MASTER_KEY)
    portal.expect_write("PUT", f"/apis/resend-{n}", dialog.get_by_role("button", name="Sign in").click)
    expect(panel.get_by_role("status").filter(has_text=re.compile(r"\S"))).to_be_visible()
    expect(panel.get_by_label("Header value", exact=True)).to_have_value(f"v-{n}")
    answer = gateway_get(portal_host, f"resend{n}/x")
    assert [v for k, v in answer.json()["headers"] if k.lower() == "x-resent"] == [f"v-{n}"]
