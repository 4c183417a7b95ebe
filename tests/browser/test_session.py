"""The management key lives in the tab's sessionStorage only, goes out as `x-functions-key` on
every management call and nowhere else; Sign out and a 401 forget it (docs/portal.md)."""

from __future__ import annotations

import re
import tempfile

from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.api.client import Management
from tests.browser.conftest import MASTER_KEY, Portal, launch_context, new_id

ROTATE = (
    "(key) => { for (const name of Object.keys(sessionStorage))"
    " if (sessionStorage.getItem(name) === key) sessionStorage.setItem(name, 'rotated-away'); }"
)


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


def test_key_that_stops_working_on_navigation(portal: Portal) -> None:
    """A 401 later on (the key was rotated meanwhile) forgets the key and asks again."""
    portal.signed_in()
    page_ = portal.page
    page_.evaluate(ROTATE, MASTER_KEY)
    assert "rotated-away" in storage_text(page_, "sessionStorage")
    portal.nav("APIs").click()
    expect(portal.alerts(text=re.compile(r"refused", re.I))).to_be_visible()
    asks_for_key(page_)
    assert "rotated-away" not in storage_text(page_, "sessionStorage")
    portal.shot("01-key-refused-later")
    # signing in again goes on where it was
    portal.sign_in()
    expect(portal.nav("APIs")).to_be_visible()


def test_key_that_stops_working_on_reload(portal: Portal) -> None:
    portal.signed_in(route="/apis")
    portal.page.evaluate(ROTATE, MASTER_KEY)
    portal.page.reload()
    expect(portal.alerts(text=re.compile(r"refused", re.I))).to_be_visible()
    asks_for_key(portal.page)


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
