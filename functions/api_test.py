"""The dry run of an API: POST /management/apis/{apiId}/test (shared/dry_run.py)."""

from urllib.parse import urlsplit

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from functions.http import Call, json_response, respond, route_id
from functions.runtime import SERVICES
from shared.bodies import parse_test_probe
from shared.dry_run import dry_run

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_BODY_LIMIT = 64 * 1024


@bp.route(route="management/apis/{apiId}/test", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
async def dry_run_api(req: Request) -> Response:
    return await respond(req, _test, body_limit=_BODY_LIMIT)


def _test(call: Call) -> Response:
    api_id = route_id(call, "apiId")
    method, path = parse_test_probe(call.json() if call.body.strip() else None)
    host = urlsplit(call.base_url).netloc
    return json_response(dry_run(SERVICES.get(), api_id, method, path, host=host))
