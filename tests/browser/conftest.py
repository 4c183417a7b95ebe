"""The portal in a real browser: Debian's chromium driven by Playwright (sync API) against one
local host per test worker with keys enforced, real mTLS backends and PFX files made here.

The page is driven by role and label only (docs/portal.md: its accessible names are the
contract). A missing chromium or axe-core fails the run; nothing here skips.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from tests.api.client import Management
from tests.conftest import unique_prefix
from tests.services import PROJECT, Azurite, DevHost, app_environment
from tests.support.pki import CA, Issued, pfx_cryptography
from tests.support.tls_backends import EchoBackend

CHROMIUM = Path("/usr/bin/chromium")
AXE = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT / "build" / "screenshots"
MASTER_KEY = "portal-master-key"  # management (admin level): what the operator types in
FUNCTION_KEY = "portal-function-key"  # gateway callers' key: never opens management
TIMEOUT_MS = 10_000  # every Playwright wait is bounded by this
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ELLIPSIS = "\u2026"
NOT_EMPTY = re.compile(r"\S")

expect.set_options(timeout=TIMEOUT_MS)


# ---------------------------------------------------------------- PKI and backends


@dataclass(frozen=True)
class PortalPki:
    """`client_root` issues the client certificates the mTLS backend accepts; `server_root`
    signs that backend's own certificate and is NOT in the host's trust store (an API must
    untick chain validation or trust it as an uploaded CA certificate); `trusted_root` is the
    host's REQUESTS_CA_BUNDLE and signs the plain-TLS backend's certificate."""

    client_root: CA
    server_root: CA
    trusted_root: CA
    trust_file: Path


@pytest.fixture(scope="session")
def portal_pki(tmp_path_factory: pytest.TempPathFactory) -> PortalPki:
    trusted = CA.new("portal trusted root", "ec")
    trust_file = tmp_path_factory.mktemp("portal-trust") / "trusted.pem"
    trusted.write_pem(trust_file)
    return PortalPki(
        CA.new("portal client root", "ec"), CA.new("portal private server root", "ec"), trusted, trust_file
    )


@pytest.fixture(scope="session")
def mtls_echo(portal_pki: PortalPki) -> Iterator[EchoBackend]:
    """Asks for a client certificate from `client_root` and aborts the handshake without one;
    its certificate (localhost, 127.0.0.1) chains to the private `server_root`."""
    server = portal_pki.server_root.issue_server(kind="ec")
    with EchoBackend(server, [portal_pki.client_root.cert_pem]) as backend:
        yield backend


@pytest.fixture(scope="session")
def plain_echo(portal_pki: PortalPki) -> Iterator[EchoBackend]:
    """TLS without client certificates, trusted by the host: for the other credential kinds."""
    with EchoBackend(portal_pki.trusted_root.issue_server(kind="ec"), None) as backend:
        yield backend


# ---------------------------------------------------------------- the local host


def start_portal_host(azurite: Azurite, portal_pki: PortalPki, log_dir: Path) -> DevHost:
    """A local host with keys enforced, its own tables, trusting `trusted_root` only."""
    env = app_environment(
        azurite.connection_string,
        unique_prefix(),
        CERTGATE_CONFIG_TTL_SECONDS="1",
        CERTGATE_BACKEND_TIMEOUT_SECONDS="5",
        CERTGATE_LOCAL_MASTER_KEY=MASTER_KEY,
        CERTGATE_LOCAL_FUNCTION_KEY=FUNCTION_KEY,
        REQUESTS_CA_BUNDLE=str(portal_pki.trust_file),
        SSL_CERT_FILE=str(portal_pki.trust_file),
    )
    return DevHost(env, log_path=log_dir / "devhost.log")


@pytest.fixture(scope="session")
def portal_host(
    azurite: Azurite, portal_pki: PortalPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevHost]:
    """One keyed local host per test worker (tests isolate themselves by unique ids)."""
    host = start_portal_host(azurite, portal_pki, tmp_path_factory.mktemp("portal-host"))
    yield host
    host.stop()


@pytest.fixture
def admin(portal_host: DevHost) -> Management:
    """The management API with the master key, for arranging and checking behind the page."""
    return Management(portal_host.url, MASTER_KEY)


def gateway_get(host: DevHost, path: str, **headers: str) -> requests.Response:
    return requests.get(
        f"{host.url}/gateway/{path}", headers={"x-functions-key": FUNCTION_KEY, **headers}, timeout=30
    )


# ---------------------------------------------------------------- the browser


def launch_context(playwright: Playwright, user_data_dir: str) -> BrowserContext:
    """Debian's chromium with a fresh profile (launch() refuses --user-data-dir, which the
    persistent context takes as its first argument)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium (apt)")
    context = playwright.chromium.launch_persistent_context(
        user_data_dir, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


# Module scope, not session: while Playwright's sync API is open its event loop counts as running
# in this thread, so a later test of the same pytest worker that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser_context(playwright_session: Playwright) -> Iterator[BrowserContext]:
    with tempfile.TemporaryDirectory(prefix="certgate-chromium-") as profile:
        context = launch_context(playwright_session, profile)
        yield context
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci (package.json pins axe-core)")
    return AXE.read_text()


@dataclass
class Observed:
    """What a page did: console messages, uncaught errors, requests, responses, dialogs."""

    console: list[ConsoleMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    bodies: dict[str, list[str]] = field(default_factory=dict)  # GET /management/... bodies by URL
    dialogs: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [m.text for m in self.console if "Content Security Policy" in m.text]

    def management_requests(self) -> list[Request]:
        return [r for r in self.requests if "/management/" in r.url]


def observe(page: Page) -> Observed:
    seen = Observed()
    # Playwright wraps each handler: a plain function, not a builtin method such as list.append
    page.on("console", lambda message: seen.console.append(message))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("request", lambda request: seen.requests.append(request))

    def on_response(response: Response) -> None:
        seen.responses.append(response)
        if "/management/" in response.url and response.request.method == "GET":
            try:
                seen.bodies.setdefault(response.url, []).append(response.text())
            except Exception as exc:  # a body gone with a navigation: recorded, not lost silently
                seen.bodies.setdefault(response.url, []).append(f"<unreadable: {exc}>")

    page.on("response", on_response)

    def on_dialog(dialog: Dialog) -> None:  # alert()/confirm(): the XSS test's tripwire
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


class Portal:
    """One tab on the portal, driven by role and label only."""

    def __init__(self, page: Page, base_url: str, test_name: str, axe_source: str) -> None:
        self.page = page
        self.base = base_url
        self.test_name = _safe(test_name)
        self.seen = observe(page)
        self._axe = axe_source

    # -- navigation and evidence

    def open(self, route: str = "") -> None:
        self.page.goto(f"{self.base}/portal" + (f"#{route}" if route else ""))

    def shot(self, step: str, *, full: bool = False) -> Path:
        """build/screenshots/<test>-<step>.png, stable names; the viewport unless `full` (the
        whole page costs about twice as much)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{_safe(step)}.png"
        self.page.screenshot(path=str(path), full_page=full)
        return path

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's violations on the page as it is now (injected by evaluate: the strict CSP
        blocks a script tag)."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(self._axe)
        violations: list[dict[str, Any]] = self.page.evaluate(
            "axe.run().then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.map(n => n.target)})))"
        )
        return violations

    # -- signing in

    def rotate_key(self, to: str = "rotated-away") -> None:
        """Replace the stored key as a rotation elsewhere would make it stale (whatever name the
        page stores it under: the entry holding the master key)."""
        self.page.evaluate(
            "([key, to]) => { for (const name of Object.keys(sessionStorage))"
            " if (sessionStorage.getItem(name) === key) sessionStorage.setItem(name, to); }",
            [MASTER_KEY, to],
        )

    @property
    def key_field(self) -> Locator:
        return self.page.get_by_label("Management key")

    def sign_in(self, key: str = MASTER_KEY) -> None:
        self.key_field.fill(key)
        self.page.get_by_role("button", name="Sign in").click()

    def signed_in(self, key: str = MASTER_KEY, route: str = "") -> Portal:
        self.open(route)
        self.sign_in(key)
        expect(self.nav("Client certificates")).to_be_visible()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()
        return self

    def nav(self, name: str) -> Locator:
        return self.page.get_by_role("navigation").get_by_role("link", name=name, exact=True)

    def go(self, name: str) -> None:
        """Follow a navigation link and wait until it is the current page."""
        link = self.nav(name)
        link.click()
        expect(link).to_have_attribute("aria-current", "page")

    # -- shared shapes

    def table(self, name: str) -> Locator:
        return self.page.get_by_role("table", name=name, exact=True)

    def row(self, text: str, table: str | None = None) -> Locator:
        scope = self.table(table) if table else self.page
        return scope.get_by_role("row").filter(has_text=text)

    def form(self, name: str) -> Locator:
        return self.page.get_by_role("form", name=name)

    def dialog(self, name: str) -> Locator:
        return self.page.get_by_role("dialog", name=name)

    def button(self, name: str, scope: Locator | None = None) -> Locator:
        return (scope or self.page).get_by_role("button", name=name, exact=True)

    # -- client certificates

    def open_upload(self) -> Locator:
        self.go("Client certificates")
        self.button("Upload certificate").click()
        form = self.form("Upload certificate")
        expect(form).to_be_visible()
        return form

    def submit_upload(self, form: Locator, name: str, pfx: Path, password: str) -> None:
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("Certificate file (.pfx)").set_input_files(str(pfx))
        form.get_by_label("Password", exact=True).fill(password)
        self.button("Upload", form).click()

    def upload_certificate(self, name: str, pfx: Path, password: str) -> Locator:
        """Open the upload form, fill it and send it; returns the form (its alert, if any)."""
        form = self.open_upload()
        self.submit_upload(form, name, pfx, password)
        return form

    def uploaded(self, name: str, pfx: Path, password: str, issued: Issued) -> Locator:
        """Upload through the page and wait for the row; returns it."""
        self.upload_certificate(name, pfx, password)
        row = self.row(name, "Client certificates")
        expect(row).to_contain_text(issued.thumbprint[-4:])
        return row

    def upload_ca(self, name: str, pem: Path) -> Locator:
        self.go("CA certificates")
        self.button("Upload CA certificate").click()
        form = self.form("Upload CA certificate")
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("Certificate file (.cer, .pem)").set_input_files(str(pem))
        self.button("Upload", form).click()
        return form

    # -- APIs

    def create_api(self, name: str, display: str, path: str, backend: str) -> Locator:
        self.go("APIs")
        self.button("Add API").click()
        form = self.form("Add API")
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("Display name", exact=True).fill(display)
        form.get_by_label("Path", exact=True).fill(path)
        form.get_by_label("Backend URL", exact=True).fill(backend)
        self.button("Create", form).click()
        return form

    def open_api(self, name: str, display: str | None = None) -> None:
        """From the APIs list, follow the API's name; its page is headed by its display name."""
        self.go("APIs")
        self.table("APIs").get_by_role("link", name=name, exact=True).click()
        expect(self.page.get_by_role("heading", name=display or name, exact=True)).to_be_visible()

    def tab(self, name: str) -> Locator:
        tab = self.page.get_by_role("tab", name=name, exact=True)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        return self.page.get_by_role("tabpanel", name=name)

    def save_security(self, panel: Locator) -> None:
        """Save the Security tab: wait for the API's answer to the PUT, then for the tab's own
        status (the page rebuilds the form from the saved API first: locators into `panel` then
        find the new fields)."""
        self.expect_write("PUT", "/management/apis/", lambda: self.button("Save", panel).click(), ok=(200,))
        expect(panel.get_by_role("status").filter(has_text=NOT_EMPTY)).to_be_visible()

    def expect_write(
        self, method: str, fragment: str, action: Callable[[], None], ok: tuple[int, ...] = (200, 201)
    ) -> Response:
        """Run `action` and wait for the page's `method` call whose URL holds `fragment`."""
        with self.page.expect_response(lambda r: r.request.method == method and fragment in r.url) as answer:
            action()
        response = answer.value
        if ok:
            assert response.status in ok, f"{method} {response.url}: {response.status} {response.text()}"
        return response

    def alerts(self, scope: Locator | None = None, text: str | re.Pattern[str] = NOT_EMPTY) -> Locator:
        """The alerts (in `scope`) holding `text`: empty alert boxes wait in every form."""
        return (scope or self.page).get_by_role("alert").filter(has_text=text)

    def statuses(self, text: str | re.Pattern[str] = NOT_EMPTY) -> Locator:
        return self.page.get_by_role("status").filter(has_text=text)


@pytest.fixture
def portal(
    browser_context: BrowserContext, portal_host: DevHost, axe_source: str, request: pytest.FixtureRequest
) -> Iterator[Portal]:
    """A fresh tab (its own sessionStorage) on the portal; closed after the test, which fails
    if the page logged a Content-Security-Policy violation or threw an uncaught error."""
    page = browser_context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    tab = Portal(page, portal_host.url, request.node.originalname, axe_source)
    yield tab
    problems = tab.seen.csp_violations() + tab.seen.errors
    page.close()
    if problems:
        pytest.fail(f"the page logged CSP violations or uncaught errors: {problems}")


# ---------------------------------------------------------------- certificates made here


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def write_pfx(directory: Path, issued: Issued, password: str, name: str = "client.pfx") -> Path:
    path = directory / name
    path.write_bytes(pfx_cryptography(issued, password))
    return path


def write_pem(directory: Path, issued_or_ca: Issued | CA, name: str = "ca.pem") -> Path:
    path = directory / name
    path.write_bytes(issued_or_ca.cert.public_bytes(Encoding.PEM))
    return path


def option_label(issued: Issued) -> str:
    """The "Client certificate" option of docs/portal.md: `subject (…LAST4)`."""
    return f"{issued.subject} ({ELLIPSIS}{issued.thumbprint[-4:]})"


def sha1_fingerprint(issued: Issued) -> str:
    return hashlib.sha1(issued.cert.public_bytes(Encoding.DER)).hexdigest().upper()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
