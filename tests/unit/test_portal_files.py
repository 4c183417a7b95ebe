"""shared/portal_files.py on a fixture directory: what is served (the allow-list, media types,
ETags), what never is, If-None-Match; and .funcignore keeps portal/ in the deployed package."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from shared.portal_files import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, PortalFiles, not_modified
from tests.services import PROJECT

SERVED = {
    "index.html": ("text/html; charset=utf-8", b"<!doctype html><title>t</title>"),
    "portal.css": ("text/css; charset=utf-8", b"body { margin: 0 }"),
    "js/app.js": ("text/javascript; charset=utf-8", b'import { x } from "./views/x.js";'),
    "js/views/x.js": ("text/javascript; charset=utf-8", b"export const x = 1;"),
    "icon.svg": ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
}
# In the directory, never served: no media type for the suffix, or not a file.
NOT_SERVED = [
    "build.py",
    "js/tool.py",
    "notes.txt",
    "data.json",
    "js/app.js.map",
    "index.html.bak",
    "index.html~",
    "README",
    ".git/config",
    "server.pyc",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    portal = tmp_path / "portal"
    for name, (_, body) in SERVED.items():
        (portal / name).parent.mkdir(parents=True, exist_ok=True)
        (portal / name).write_bytes(body)
    for name in NOT_SERVED:
        (portal / name).parent.mkdir(parents=True, exist_ok=True)
        (portal / name).write_text("SENTINEL: must never be served")
    (portal / "folder.js").mkdir()  # a directory with a served suffix
    (tmp_path / "outside.html").write_text("SENTINEL: outside portal/")
    return portal


def test_served_files_have_their_media_type_and_a_strong_etag(root: Path) -> None:
    files = PortalFiles(root)
    assert sorted(files.names()) == sorted(SERVED)
    for name, (media_type, body) in SERVED.items():
        found = files.get(name)
        assert found is not None, name
        assert (found.body, found.media_type) == (body, media_type)
        assert re.fullmatch(r'"[0-9a-f]{32}"', found.etag), found.etag
    assert len({f.etag for n in SERVED if (f := files.get(n))}) == len(SERVED)


def test_the_etag_follows_the_bytes(root: Path) -> None:
    before = PortalFiles(root).get("portal.css")
    same = PortalFiles(root).get("portal.css")
    (root / "portal.css").write_bytes(b"body { margin: 1px }")
    after = PortalFiles(root).get("portal.css")
    assert before is not None and same is not None and after is not None
    assert before.etag == same.etag
    assert after.etag != before.etag


@pytest.mark.parametrize("name", [*NOT_SERVED, "folder.js"])
def test_other_files_in_the_directory_are_not_served(root: Path, name: str) -> None:
    assert (root / name).exists()
    assert PortalFiles(root).get(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/index.html",
        "./index.html",
        "js/../index.html",
        "../outside.html",
        "js/../../outside.html",
        "..\\outside.html",
        "js\\app.js",
        "index.html\x00",
        "index.html/",
        "INDEX.HTML",
        "index.html ",
        "js//app.js",
    ],
)
def test_a_name_is_a_key_of_the_allow_list_or_nothing(root: Path, name: str) -> None:
    """No path arithmetic on request names: only the exact relative names are found."""
    assert PortalFiles(root).get(name) is None


def test_files_are_read_once(root: Path) -> None:
    files = PortalFiles(root)
    (root / "late.js").write_text("export {};")
    (root / "portal.css").write_bytes(b"changed")
    css = files.get("portal.css")
    assert files.get("late.js") is None
    assert css is not None and css.body == SERVED["portal.css"][1]


def test_a_missing_directory_serves_nothing(tmp_path: Path) -> None:
    files = PortalFiles(tmp_path / "missing")
    assert files.names() == [] and files.get(PortalFiles.INDEX) is None


ETAG = '"0123456789abcdef0123456789abcdef"'


@pytest.mark.parametrize(
    "header", [ETAG, "*", f"W/{ETAG}", f'"other", {ETAG}', f'W/"other",W/{ETAG}', f" {ETAG} "]
)
def test_if_none_match_that_matches(header: str) -> None:
    assert not_modified(header, ETAG)


@pytest.mark.parametrize(
    "header", [None, "", '"other"', 'W/"other"', ETAG.upper(), ETAG.strip('"'), f'"{ETAG}"', "**"]
)
def test_if_none_match_that_does_not_match(header: str | None) -> None:
    assert not not_modified(header, ETAG)


def test_security_headers_allow_no_inline_code_and_no_other_origin() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "img-src", "connect-src"):
        assert directives[name] == "'self'", name
    for name in ("form-action", "base-uri", "frame-ancestors"):
        assert directives[name] == "'none'", name
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY
    assert SECURITY_HEADERS["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    assert SECURITY_HEADERS["Referrer-Policy"] == "no-referrer"
    assert SECURITY_HEADERS["Cache-Control"] == "no-cache"


# .funcignore (gitignore syntax; func's packaging): a pattern without a slash matches a name at
# any depth, one with a slash is anchored at the app's root.


def funcignore_patterns() -> list[str]:
    lines = (PROJECT / ".funcignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "negations: extend excluded() first"
    return patterns


def excluded(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    for pattern in patterns:
        bare = pattern.strip("/")
        if "/" in bare:
            if any(fnmatch.fnmatchcase("/".join(parts[:i]), bare) for i in range(1, len(parts) + 1)):
                return True
        elif any(fnmatch.fnmatchcase(part, bare) for part in parts):
            return True
    return False


def test_funcignore_keeps_the_portal_in_the_package() -> None:
    patterns = funcignore_patterns()
    real = [f"portal/{name}" for name in PortalFiles().names()]  # what the function serves
    for path in ["portal", "portal/index.html", "portal/portal.css", "portal/js/app.js", *real]:
        assert not excluded(path, patterns), path
    for path in ["functions/portal.py", "shared/portal_files.py", "function_app.py", "host.json"]:
        assert not excluded(path, patterns), path


def test_funcignore_leaves_out_tests_and_tooling() -> None:
    patterns = funcignore_patterns()
    for path in [
        "tests/unit/test_portal_files.py",
        "node_modules/axe-core/axe.min.js",
        ".venv/bin/python",
        "docs/portal.md",
        "scripts/setup",
        "devhost/app.py",
        "local.settings.json",
    ]:
        assert excluded(path, patterns), path


def test_symbolic_links_and_dotfiles_are_not_served(root: Path) -> None:
    """A link inside portal/ to a file outside it, or a dotfile with a served suffix, stays unserved;
    its twin, a regular file of the same suffix, is served."""
    (root / "linked.html").symlink_to(root.parent / "outside.html")
    (root / ".eslintrc.js").write_text("SENTINEL: a dotfile")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "page.html").write_text("SENTINEL: in a dot directory")
    (root / "plain.html").write_text("<!doctype html>")
    files = PortalFiles(root)
    assert files.get("linked.html") is None
    assert files.get(".eslintrc.js") is None
    assert files.get(".hidden/page.html") is None
    assert files.get("plain.html") is not None
