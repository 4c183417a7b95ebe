"""The portal's static files (portal/): an allow-list read once, with each file's media type
and ETag, and the security headers every answer carries. Pure: no HTTP types here."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

PORTAL_DIR = Path(__file__).resolve().parent.parent / "portal"

# No 'unsafe-inline' anywhere, no origin but our own (docs/portal.md).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class PortalFile:
    body: bytes
    media_type: str
    etag: str


class PortalFiles:
    """The files under `root` whose suffix has a known media type, by their path relative to it
    (`index.html`, `js/app.js`). Read once: a request names a key of this map or nothing."""

    INDEX = "index.html"

    def __init__(self, root: Path = PORTAL_DIR) -> None:
        self._files: dict[str, PortalFile] = {}
        for path in sorted(root.rglob("*")):
            media_type = _MEDIA_TYPES.get(path.suffix)
            relative = path.relative_to(root)
            # Only regular files inside the root: no symbolic link, no dotfile or dot directory.
            if media_type is None or path.is_symlink() or not path.is_file():
                continue
            if any(part.startswith(".") for part in relative.parts):
                continue
            if not path.resolve().is_relative_to(root.resolve()):
                continue
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self._files[relative.as_posix()] = PortalFile(body, media_type, etag)

    def get(self, name: str) -> PortalFile | None:
        return self._files.get(name)

    def names(self) -> list[str]:
        return list(self._files)


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: a list of entity tags or `*`; the weak comparison applies to GET."""
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
