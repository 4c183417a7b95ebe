"""The strict Content-Security-Policy holds: every file of the portal comes with it (no
'unsafe-inline'), the sections log no violation and no uncaught error (as every test's page
fixture checks), and an inline script put into the page is refused (the policy is in force)."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from playwright.sync_api import expect

from tests.browser.conftest import Portal
from tests.services import PROJECT

REQUIRED = ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'")


def test_csp_on_every_file(portal: Portal) -> None:
    """(Every test's page fixture fails on a logged violation or an uncaught error; the walkthrough
    and the accessibility walk cover every view.)"""
    portal.signed_in()
    for view in ("CA certificates", "Named values", "APIs", "Client certificates"):
        portal.go(view)
        expect(portal.table(view)).to_be_visible()
    assert portal.seen.csp_violations() == []
    assert portal.seen.errors == []

    own = [r for r in portal.seen.responses if urlsplit(r.url).path.startswith("/portal")]
    paths = {urlsplit(r.url).path for r in own}
    modules = {f"/portal/js/{p.name}" for p in (PROJECT / "portal" / "js").glob("*.js")}
    assert {"/portal", "/portal/portal.css", *modules} <= paths, sorted(paths)
    for response in own:
        policy = response.headers.get("content-security-policy", "")
        assert all(part in policy for part in REQUIRED), (response.url, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (response.url, policy)
        assert response.headers.get("x-content-type-options") == "nosniff", response.url
    served = (".html", ".js", ".css", ".svg")  # the media types the function knows
    files = {
        f"/portal/{p.relative_to(PROJECT / 'portal').as_posix()}"
        for p in (PROJECT / "portal").rglob("*")
        if p.suffix in served and not p.name.startswith(".")
    }
    for path in sorted(paths | files):  # as any client gets them, not only the browser
        direct = requests.get(f"{portal.base}{path}", timeout=10)
        assert direct.status_code == 200, path
        assert "unsafe-inline" not in direct.headers["Content-Security-Policy"]
        assert (
            direct.headers["X-Frame-Options"] == "DENY" and direct.headers["Referrer-Policy"] == "no-referrer"
        )

    # the refusal twin: an inline script is blocked and reported
    with portal.page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        portal.page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';"
            " document.body.append(s); }"
        )
    assert portal.page.evaluate("window.inlineRan === true") is False
    portal.seen.console.clear()  # the violation this test caused on purpose
