"""GET /portal and the files it loads (portal/), anonymous: the page signs its own calls with the
management key the operator enters (docs/portal.md)."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from functions.http import error_response
from shared.errors import ResourceNotFound
from shared.portal_files import SECURITY_HEADERS, PortalFiles, not_modified

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_FILES = PortalFiles()
_ANONYMOUS = func.AuthLevel.ANONYMOUS


@bp.route(route="portal", methods=["GET", "HEAD"], auth_level=_ANONYMOUS)
async def get_portal(req: Request) -> Response:
    if req.url.path.endswith("/"):  # the host ignores a trailing slash and routes /portal/ here
        return _to_page()
    return _file(req, PortalFiles.INDEX)


@bp.route(route="portal/{*file}", methods=["GET", "HEAD"], auth_level=_ANONYMOUS)
async def get_portal_file(req: Request) -> Response:
    name = req.path_params.get("file") or ""
    if not name or name == PortalFiles.INDEX:  # its references would miss from /portal/...
        return _to_page()
    return _file(req, name)


def _to_page() -> Response:
    """/portal/ and /portal/index.html to /portal: the page's references are relative to it."""
    return Response(status_code=308, headers={"Location": "../portal", **SECURITY_HEADERS})


def _file(req: Request, name: str) -> Response:
    found = _FILES.get(name)
    if found is None:
        missing = error_response(ResourceNotFound(f"The portal has no file '{name}'.", target=name))
        missing.headers.update(SECURITY_HEADERS)
        return missing
    headers = {"ETag": found.etag, **SECURITY_HEADERS}
    if not_modified(req.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    if req.method == "HEAD":  # the GET's headers, Content-Length included, and no body
        headers["Content-Length"] = str(len(found.body))
        return Response(b"", media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
