"""The portal's files over HTTP through the local host (functions/portal.py): security headers,
ETag and 304, HEAD, the /portal/ redirect, 404 for anything else (traversal included), anonymous
while keys are enforced; on a copy of the app whose portal/ is a fixture. Then the real portal/:
every reference resolves to a served file, no inline code or style, no other origin."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from shared.portal_files import SECURITY_HEADERS, PortalFiles
from tests.conftest import unique_prefix
from tests.services import PROJECT, Azurite, DevHost, app_environment

MASTER_KEY = "portal-test-master-key"
FUNCTION_KEY = "portal-test-function-key"
SENTINEL = "SENTINEL-never-served"
INDEX = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>fixture</title>\n'
    '<link rel="stylesheet" href="portal/portal.css">\n'
    '<script type="module" src="portal/js/app.js"></script></head><body></body></html>\n'
)
FIXTURE = {  # the fixture portal/: served ...
    "index.html": INDEX,
    "portal.css": "body { margin: 0 }\n",
    "js/app.js": 'import { x } from "./x.js";\n',
    "js/x.js": "export const x = 1;\n",
    "icon.svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>\n',
}
NOT_SERVED = {  # ... and in portal/ too, never served (no media type for the suffix)
    "tool.py": f"# {SENTINEL}\n",
    "notes.txt": SENTINEL,
    ".git/config": SENTINEL,
    "index.html.bak": SENTINEL,
}
MEDIA_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
# What files outside portal/ hold (the app's root): none of it may appear in a portal answer.
OUTSIDE = (SENTINEL, "register_functions", "extensionBundle", "CERTGATE_", '"status"')


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


def call(host: DevHost, method: str, target: str, headers: dict[str, str] | None = None) -> Answer:
    """One request with the target sent as written (requests and urllib3 would remove `..`)."""
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=30)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def assert_security_headers(answer: Answer) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name.lower()) == value, name


@pytest.fixture(scope="module")
def portal_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This app's code (copied: shared/portal_files.py finds portal/ next to its own package) with a
    fixture portal/, and a file beside it holding the sentinel."""
    app = tmp_path_factory.mktemp("portal-app")
    for package in ("functions", "shared"):
        shutil.copytree(PROJECT / package, app / package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("function_app.py", "host.json"):
        shutil.copy(PROJECT / name, app / name)
    for name, text in {**FIXTURE, **NOT_SERVED}.items():
        (app / "portal" / name).parent.mkdir(parents=True, exist_ok=True)
        (app / "portal" / name).write_text(text)
    (app / "secret.html").write_text(SENTINEL)
    return app


@pytest.fixture(scope="module")
def host(azurite: Azurite, portal_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    env = app_environment(
        azurite.connection_string,
        unique_prefix(),
        CERTGATE_LOCAL_MASTER_KEY=MASTER_KEY,
        CERTGATE_LOCAL_FUNCTION_KEY=FUNCTION_KEY,
    )
    log = tmp_path_factory.mktemp("portal-host") / "devhost.log"
    started = DevHost(env, log_path=log, args=("--app-dir", str(portal_app)))
    yield started
    started.stop()


# The page is served at /portal only (/portal/index.html redirects there).
FILES = [("/portal", "index.html"), *((f"/portal/{name}", name) for name in FIXTURE if name != "index.html")]


@pytest.mark.parametrize(("target", "name"), FILES)
def test_files_are_served_with_the_security_headers_and_an_etag(
    host: DevHost, target: str, name: str
) -> None:
    answer = call(host, "GET", target)
    assert answer.status == 200
    assert answer.body == FIXTURE[name].encode()
    assert answer.media_type() == MEDIA_TYPES[Path(name).suffix]
    if answer.media_type().startswith("text/"):
        assert answer.headers["content-type"].lower().endswith("charset=utf-8")
    assert_security_headers(answer)
    assert re.fullmatch(r'"[0-9a-f]{32}"', answer.headers["etag"])
    assert "set-cookie" not in answer.headers


def test_each_file_has_its_own_etag_and_the_page_one_etag(host: DevHost) -> None:
    etags = {target: call(host, "GET", target).headers["etag"] for target, _ in FILES}
    assert len(set(etags.values())) == len(FIXTURE) == len(FILES)


@pytest.mark.parametrize("form", ["{etag}", "*", "W/{etag}", '"other", {etag}', 'W/"other",W/{etag}'])
@pytest.mark.parametrize("target", ["/portal", "/portal/js/app.js"])
def test_if_none_match_that_matches_is_304(host: DevHost, target: str, form: str) -> None:
    etag = call(host, "GET", target).headers["etag"]
    answer = call(host, "GET", target, {"If-None-Match": form.format(etag=etag)})
    assert answer.status == 304
    assert answer.body == b""
    assert answer.headers["etag"] == etag
    assert_security_headers(answer)


@pytest.mark.parametrize("form", ['"other"', 'W/"other"', "{bare}", "{css}", "{upper}", ""])
@pytest.mark.parametrize("target", ["/portal", "/portal/js/app.js"])
def test_if_none_match_that_does_not_match_is_200(host: DevHost, target: str, form: str) -> None:
    etag = call(host, "GET", target).headers["etag"]
    css = call(host, "GET", "/portal/portal.css").headers["etag"]  # another file's
    value = form.format(bare=etag.strip('"'), css=css, upper=etag.upper())
    answer = call(host, "GET", target, {"If-None-Match": value})
    assert answer.status == 200
    assert answer.body == call(host, "GET", target).body != b""


def raw_head(host: DevHost, target: str) -> tuple[list[str], bytes]:
    """HEAD on a socket read to its end: the header lines, and whatever came after them (a client
    library would drop a body sent to HEAD, and this test is about that body)."""
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        sock.sendall(f"HEAD {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    return head.decode("latin-1").lower().split("\r\n"), rest


@pytest.mark.parametrize(("target", "name"), FILES)
def test_head_has_the_headers_of_get_and_no_body(host: DevHost, target: str, name: str) -> None:
    get = call(host, "GET", target)
    head = call(host, "HEAD", target)
    assert head.status == 200
    assert head.headers["content-length"] == str(len(FIXTURE[name].encode())) == str(len(get.body))
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == get.headers["content-type"]
    assert_security_headers(head)
    lines, rest = raw_head(host, target)
    assert lines[0].startswith("http/1.1 200")
    assert f"content-length: {len(get.body)}" in lines
    assert rest == b""


def test_head_of_a_missing_file_is_404_without_a_body(host: DevHost) -> None:
    head = call(host, "HEAD", "/portal/missing.js")
    assert head.status == 404
    assert_security_headers(head)
    lines, rest = raw_head(host, "/portal/missing.js")
    assert lines[0].startswith("http/1.1 404") and rest == b""


@pytest.mark.parametrize("target", ["/portal/", "/portal/index.html"])
def test_the_slash_redirects_to_the_page(host: DevHost, target: str) -> None:
    """The page's references (`portal/js/app.js`) are relative to /portal: from /portal/ or
    /portal/index.html they would miss, so both answer 308 to ../portal (docs/portal.md)."""
    answer = call(host, "GET", target)
    assert answer.status == 308, (answer.status, answer.body[:80])
    assert answer.headers["location"] == "../portal"
    assert urljoin(f"{host.url}{target}", answer.headers["location"]) == f"{host.url}/portal"
    assert_security_headers(answer)
    assert call(host, "GET", "/portal").status == 200  # the twin: no redirect without the slash


MISSING = [
    "/portal/missing.html",
    "/portal/js/missing.js",
    "/portal/tool.py",
    "/portal/notes.txt",
    "/portal/index.html.bak",
    "/portal/.git/config",
    "/portal/secret.html",
    "/portal/../health",
    "/portal/../secret.html",
    "/portal/%2e%2e/host.json",
    "/portal/%2e%2e/secret.html",
    "/portal/%2E%2E%2Fsecret.html",
    "/portal/js/../../function_app.py",
    "/portal/js/%2e%2e/%2e%2e/function_app.py",
    "/portal/index.html%00",
    "/portal/%00",
    "/portal/..\\secret.html",
    "/portal/%5c..%5csecret.html",
    "/portal/js\\app.js",
    "/portal//etc/passwd",
    "/portal/%2fetc%2fpasswd",
    "/portal/./index.html",
    "/portal/js/",
    "/portal/index.html/",
]


@pytest.mark.parametrize("target", MISSING)
def test_anything_else_is_404_and_nothing_outside_is_served(host: DevHost, target: str) -> None:
    answer = call(host, "GET", target)
    text = answer.body.decode("utf-8", errors="replace")
    for fragment in OUTSIDE:
        assert fragment not in text, (target, fragment)
    assert answer.status == 404, (target, answer.status)
    assert answer.media_type() == "application/json"
    body = json.loads(answer.body)
    assert set(body) == {"error"} and body["error"]["code"] == "ResourceNotFound", body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert_security_headers(answer)


def test_the_sentinel_files_exist_where_the_requests_aim(portal_app: Path) -> None:
    """The twin of the 404s: the files those requests aim at are there, so the 404s prove something."""
    for name in (*NOT_SERVED, "../secret.html", "../function_app.py", "../host.json"):
        assert (portal_app / "portal" / name).is_file(), name
    assert SENTINEL in (portal_app / "secret.html").read_text()


@pytest.mark.parametrize("target", ["/portal", "/portal/js/app.js", "/portal/portal.css"])
def test_the_portal_is_anonymous_with_keys_enforced(host: DevHost, target: str) -> None:
    for headers in ({}, {"x-functions-key": "wrong"}, {"x-functions-key": FUNCTION_KEY}):
        assert call(host, "GET", target, headers).status == 200, headers
    assert call(host, "GET", f"{target}?code=wrong").status == 200
    assert call(host, "GET", "/portal/missing.js").status == 404  # not 401


def test_management_still_needs_the_master_key(host: DevHost) -> None:
    url = f"{host.url}/management/apis"
    for headers in ({}, {"x-functions-key": "wrong"}, {"x-functions-key": FUNCTION_KEY}):
        assert requests.get(url, headers=headers, timeout=30).status_code == 401, headers
    assert requests.get(url, headers={"x-functions-key": MASTER_KEY}, timeout=30).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("target", ["/portal", "/portal/index.html"])
def test_only_get_and_head_are_allowed(host: DevHost, target: str, method: str) -> None:
    answer = call(host, method, target)
    assert answer.status == 405, (method, target, answer.status)


# The real portal/ ----------------------------------------------------------------------------

PORTAL = PROJECT / "portal"
URL_ATTRIBUTES = {"src", "href", "action", "formaction", "srcset", "poster", "data", "xlink:href", "ping"}
# `import x from "..."`, `import "..."`, `export ... from "..."`, `import("...")`.
IMPORT = re.compile(
    r"""\b(?:import|export)\s*(?:[\w$*{}\s,]+?\s*\bfrom\s*)?["']([^"'\n]+)["']"""
    r"""|\bimport\s*\(\s*["'`]([^"'`\n]+)["'`]\s*\)"""
)
# A literal URL handed to something that loads or connects.
LOADS = re.compile(
    r"""\b(?:fetch|new\s+URL|new\s+Worker|new\s+SharedWorker|new\s+EventSource|new\s+WebSocket|"""
    r"""sendBeacon|importScripts|open)\s*\(\s*["'`]([^"'`\n]+)["'`]"""
    r"""|\.(?:src|href|action)\s*=\s*["'`]([^"'`\n]+)["'`]"""
)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)|@import\s+["']([^"']+)["']""")
ABSOLUTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|//|\\\\)", re.IGNORECASE)


class Page(HTMLParser):
    """What a page references and what of it would need 'unsafe-inline'."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[str] = []
        self.inline: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.inline.append(f"<{tag} {name}=>")
            if name == "style":
                self.inline.append(f"<{tag} style=>")
            if name in URL_ATTRIBUTES and value is not None:
                for ref in value.split(",") if name == "srcset" else [value]:
                    ref = ref.strip().split(" ")[0] if name == "srcset" else ref.strip()
                    if ref.lower().startswith("javascript:"):
                        self.inline.append(f"<{tag} {name}=javascript:>")
                    if ref and not ref.startswith("#"):
                        self.references.append(ref)
        if tag == "style":
            self.inline.append("<style>")
        if tag == "base":
            self.inline.append("<base>")
        if tag == "script":
            self._script = ""
            if dict(attrs).get("src") is None:
                self.inline.append("<script> without src")

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if self._script.strip():
                self.inline.append("<script> with a body")
            self._script = None


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def js_imports(source: str) -> list[str]:
    return [a or b for a, b in IMPORT.findall(source)]


def other_origins(name: str, text: str) -> list[str]:
    """Every reference in a served file that names a scheme or another origin."""
    suffix = Path(name).suffix
    if suffix in (".html", ".svg"):
        found = parse(text).references
    elif suffix == ".css":
        found = [a or b for a, b in CSS_URL.findall(text)]
    else:
        found = js_imports(text) + [a or b for a, b in LOADS.findall(text)]
    return [ref for ref in found if ABSOLUTE.match(ref)]


def real_files() -> list[str]:
    names = PortalFiles().names()  # what the function serves, read as it reads it
    assert "index.html" in names, f"{PORTAL}/index.html is missing"
    return names


def test_every_reference_of_the_page_is_served(devhost: DevHost) -> None:
    page_url = f"{devhost.url}/portal"
    references = parse((PORTAL / "index.html").read_text(encoding="utf-8")).references
    assert references, "the page references no file"
    for ref in references:
        url = urljoin(page_url, ref)  # as the browser resolves it, from /portal
        assert url.startswith(f"{devhost.url}/portal/"), (ref, url)
        response = requests.get(url, timeout=30)
        assert response.status_code == 200, (ref, url, response.status_code)
        media_type = response.headers["Content-Type"].split(";")[0]
        assert media_type == MEDIA_TYPES[Path(url).suffix], (ref, media_type)


def test_every_module_import_is_served(devhost: DevHost) -> None:
    modules = [name for name in real_files() if name.endswith(".js")]
    assert modules, "portal/ has no JavaScript module"
    for name in modules:
        module_url = f"{devhost.url}/portal/{name}"
        for specifier in js_imports((PORTAL / name).read_text(encoding="utf-8")):
            # A browser resolves only URLs ("./", "../", "/"): a bare name needs an import map.
            assert specifier.startswith(("./", "../")), (name, specifier)
            url = urljoin(module_url, specifier)
            response = requests.get(url, timeout=30)
            assert response.status_code == 200, (name, specifier, url, response.status_code)
            assert response.headers["Content-Type"].startswith("text/javascript"), (name, specifier)


def test_a_reference_that_misses_is_404(devhost: DevHost) -> None:
    """The twin: the checks above would see a reference resolved against the wrong base."""
    for url in (f"{devhost.url}/portal.css", f"{devhost.url}/portal/portal/js/app.js"):
        assert requests.get(url, timeout=30).status_code == 404, url


def test_no_page_has_inline_code_or_style() -> None:
    pages = [name for name in real_files() if name.endswith(".html")]
    for name in pages:
        assert parse((PORTAL / name).read_text(encoding="utf-8")).inline == [], name


def test_no_file_names_another_origin() -> None:
    for name in real_files():
        assert other_origins(name, (PORTAL / name).read_text(encoding="utf-8")) == [], name


@pytest.mark.parametrize(
    ("html", "found"),
    [
        ("<script>alert(1)</script>", ["<script> without src", "<script> with a body"]),
        ('<script type="module">import "./a.js";</script>', ["<script> without src", "<script> with a body"]),
        ('<script src="a.js">x()</script>', ["<script> with a body"]),
        ('<button onclick="x()">b</button>', ["<button onclick=>"]),
        ('<img src="a.svg" onerror="x()">', ["<img onerror=>"]),
        ('<p style="color: red">p</p>', ["<p style=>"]),
        ("<style>p { color: red }</style>", ["<style>"]),
        ('<a href="javascript:alert(1)">a</a>', ["<a href=javascript:>"]),
        ('<base href="/">', ["<base>"]),
        ('<script type="module" src="portal/js/app.js"></script><link rel="stylesheet" href="a.css">', []),
        ('<a href="#/apis">APIs</a><p class="x" data-x="on">p</p>', []),
    ],
)
def test_the_inline_check_sees_each_kind(html: str, found: list[str]) -> None:
    assert parse(html).inline == found


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("a.html", '<script src="https://cdn.example/x.js"></script>', ["https://cdn.example/x.js"]),
        ("a.html", '<link rel="stylesheet" href="//cdn.example/x.css">', ["//cdn.example/x.css"]),
        ("a.html", '<img srcset="a.svg 1x, http://x.example/b.png 2x">', ["http://x.example/b.png"]),
        ("a.html", '<input placeholder="https://orders.example/api" type="url">', []),
        (
            "a.svg",
            '<svg xmlns="http://www.w3.org/2000/svg"><image href="https://x.example/i.png"/></svg>',
            ["https://x.example/i.png"],
        ),
        ("a.svg", '<svg xmlns="http://www.w3.org/2000/svg"/>', []),
        (
            "a.css",
            "@import 'https://fonts.example/f.css'; p { background: url(http://x.example/i.png) }",
            ["https://fonts.example/f.css", "http://x.example/i.png"],
        ),
        ("a.css", 'p { background: url("icon.svg") }', []),
        ("a.js", 'import { x } from "https://cdn.example/x.js";', ["https://cdn.example/x.js"]),
        ("a.js", 'const m = await import("//cdn.example/m.js");', ["//cdn.example/m.js"]),
        ("a.js", 'await fetch("https://api.example/x", { method: "GET" });', ["https://api.example/x"]),
        ("a.js", 'new WebSocket("wss://x.example/s");', ["wss://x.example/s"]),
        ("a.js", 'img.src = "http://x.example/t.gif";', ["http://x.example/t.gif"]),
        ("a.js", 'import { x } from "./x.js";\nawait fetch(path);\nhint = "https://orders.example";', []),
    ],
)
def test_the_origin_check_sees_each_kind(name: str, text: str, found: list[str]) -> None:
    assert other_origins(name, text) == found


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('import { a, b as c } from "./x.js";', ["./x.js"]),
        ('import {\n  a,\n  b,\n} from "./multi.js";', ["./multi.js"]),
        ("import * as all from './star.js';", ["./star.js"]),
        ('import "./side.js";', ["./side.js"]),
        ('export { a } from "../up.js";', ["../up.js"]),
        ('const m = await import("./lazy.js");', ["./lazy.js"]),
        ('import x from "bare";', ["bare"]),
        ('export const a = "./not-an-import.js";\nconst s = "import";', []),
    ],
)
def test_the_import_pattern_sees_each_form(source: str, found: list[str]) -> None:
    assert js_imports(source) == found
