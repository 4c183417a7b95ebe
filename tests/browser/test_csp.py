"""The strict Content-Security-Policy holds: every file of the portal comes with it (no
'unsafe-inline'), a tour of every view logs no violation and no uncaught error, and an inline
script put into the page is refused (the policy is in force, not just sent)."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import Portal, PortalPki, new_id
from tests.support.pki import pfx_cryptography
from tests.support.tls_backends import EchoBackend

REQUIRED = ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'")


def test_csp_on_every_view(
    portal: Portal, admin: Management, portal_pki: PortalPki, mtls_echo: EchoBackend
) -> None:
    n = new_id()
    leaf = portal_pki.client_root.issue_client(f"csp {n}", kind="ec")
    assert admin.upload(f"csp-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    put = admin.session.put(
        f"{admin.base}/management/apis/csp-{n}",
        json={
            "properties": {
                "displayName": f"CSP {n}",
                "path": f"csp{n}",
                "serviceUrl": mtls_echo.url,
                "credentials": {"certificateId": f"csp-{n}"},
                "tls": {"validateCertificateChain": False},
            }
        },
        timeout=30,
    )
    assert put.status_code == 201, put.text

    portal.signed_in()
    for view in ("CA certificates", "Named values", "APIs", "Client certificates"):
        portal.go(view)
        expect(portal.table(view)).to_be_visible()
    portal.open_api(f"csp-{n}", f"CSP {n}")
    for tab in ("Security", "Policy", "Settings"):
        portal.tab(tab)
    portal.page.get_by_role("button", name="Test connection").click()
    expect(portal.page.get_by_role("region", name="Test report")).to_contain_text("Passed")
    assert portal.seen.csp_violations() == []
    assert portal.seen.errors == []

    own = [r for r in portal.seen.responses if urlsplit(r.url).path.startswith("/portal")]
    paths = {urlsplit(r.url).path for r in own}
    assert {"/portal", "/portal/portal.css", "/portal/js/app.js"} <= paths, paths
    for response in own:
        policy = response.headers.get("content-security-policy", "")
        assert all(part in policy for part in REQUIRED), (response.url, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (response.url, policy)
        assert response.headers.get("x-content-type-options") == "nosniff", response.url
    for path in sorted(paths):  # as any client gets them, not only the browser's cached copies
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
