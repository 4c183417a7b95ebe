"""The local host's route table and settings, without a server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import azure.functions as func
import pytest

from devhost.local_settings import apply_local_settings
from devhost.routes import build_routes, match


def app_with(*routes: tuple[str, list[str], func.AuthLevel]) -> func.FunctionApp:
    app = func.FunctionApp()
    for n, (route, methods, level) in enumerate(routes):

        def handler(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("x")

        handler.__name__ = f"f{n}"
        app.route(route=route, methods=methods, auth_level=level)(handler)
    return app


def test_routes_of_the_real_app(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.services import TEST_KEY_RING

    monkeypatch.setenv("CERTGATE_ENCRYPTION_KEYS", TEST_KEY_RING)
    import function_app

    routes = build_routes(function_app.app)
    table = {(r.template, m): r.auth_level for r in routes for m in r.methods}
    assert table[("health", "GET")] == "anonymous"
    assert table[("gateway/{*path}", "PATCH")] == "function"
    assert table[("management/certificates/{certificateId}", "PUT")] == "function"
    assert len(table) == sum(len(r.methods) for r in routes)  # no (route, method) twice
    found, params = match(routes, "/management/apis/a1/policy")
    assert found[0].name == "get_api_policy" and params == {"apiId": "a1"}
    found, params = match(routes, "/gateway/orders/v1/x%2Fy")
    assert found[0].name == "forward_gateway" and params == {"path": "orders/v1/x/y"}
    found, _ = match(routes, "/management/certificates")
    assert {r.name for r in found} == {"list_certificates"}


def test_duplicate_route_is_refused() -> None:
    app = app_with(("a/{id}", ["GET"], func.AuthLevel.FUNCTION), ("a/{id}", ["GET"], func.AuthLevel.FUNCTION))
    with pytest.raises(ValueError, match="registered twice"):
        build_routes(app)


def test_literals_win_over_parameters_and_catch_all_comes_last() -> None:
    app = app_with(
        ("{*rest}", ["GET"], func.AuthLevel.ANONYMOUS),
        ("a/{id}", ["GET"], func.AuthLevel.FUNCTION),
        ("a/b", ["GET"], func.AuthLevel.ADMIN),
        ("o/{x?}", ["GET"], func.AuthLevel.FUNCTION),
    )
    routes = build_routes(app)
    assert match(routes, "/a/b")[0][0].template == "a/b"
    assert match(routes, "/A/B")[0][0].template == "a/b"  # literals are case-insensitive
    assert match(routes, "/a/c")[0][0].template == "a/{id}"
    assert match(routes, "/zzz/y")[0][0].template == "{*rest}"
    assert match(routes, "/o")[0][0].template == "o/{x?}"
    assert match(routes, "/a/b")[0][0].auth_level == "admin"


def test_local_settings_made_from_sample_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = {"Values": {"CG_TEST_A": "from-file", "CG_TEST_B": "from-file"}}
    (tmp_path / "local.settings.sample.json").write_text(json.dumps(sample))
    monkeypatch.setenv("CG_TEST_B", "from-env")
    monkeypatch.delenv("CG_TEST_A", raising=False)
    used = apply_local_settings(tmp_path)
    assert used == tmp_path / "local.settings.json" and used.exists()
    assert os.environ["CG_TEST_A"] == "from-file" and os.environ["CG_TEST_B"] == "from-env"
    monkeypatch.delenv("CG_TEST_A")


def test_sample_settings_are_complete() -> None:
    from tests.services import PROJECT

    values = json.loads((PROJECT / "local.settings.sample.json").read_text())["Values"]
    for name in (
        "AzureWebJobsStorage",
        "CERTGATE_ENCRYPTION_KEYS",
        "CERTGATE_BACKEND_TIMEOUT_SECONDS",
        "CERTGATE_CONFIG_TTL_SECONDS",
        "CERTGATE_MAX_UPLOAD_BYTES",
        "CERTGATE_MAX_GATEWAY_BODY_BYTES",
    ):
        assert name in values
