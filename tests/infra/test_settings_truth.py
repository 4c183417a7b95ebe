"""One truth for settings: every setting the code reads (the app and the local host) is in
local.settings.sample.json, documented in README.md, and set by the Bicep templates where it applies to
Azure (or knowingly left to an alternative)."""

from __future__ import annotations

import json
import re

import pytest

from tests.services import PROJECT

# Settings read by the code that Azure gets another way, with the reason.
NOT_IN_BICEP = {
    "AzureWebJobsStorage": "Azure uses the identity-based __blobServiceUri / __tableServiceUri instead",
    "AzureWebJobsStorage__accountName": "shorthand for the two URIs, which Bicep sets",
    "AzureWebJobsStorage__clientId": "only for a user-assigned identity; Bicep uses the system one",
    "REQUESTS_CA_BUNDLE": "machine trust store override; Azure uses the system store",
    "SSL_CERT_FILE": "machine trust store override; Azure uses the system store",
}
# Read by the local host only (not deployed), yet a setting of Azure's Functions host, which certgate sets.
AZURE_HOST_SETTINGS = {"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"}
# Read by the code but not app settings a local user sets.
NOT_IN_SAMPLE = {
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__clientId",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    # the local host's defaults for its command line (--port, --app-dir), not app settings
    "FUNCTIONS_HTTPWORKER_PORT",
    "CERTGATE_LOCAL_APP_DIR",
}
# host.json holds these values; AzureFunctionsJobHost__<path> overrides one, as the Functions host takes it.
HOST_JSON_OVERRIDE = "AzureFunctionsJobHost__"

_NAME = r'"([A-Za-z_][A-Za-z0-9_]*)"'
# env.get("X" / os.environ.get("X" / environ["X"] / os.getenv("X" / a helper called as _number(env, "X"
_READS = [
    re.compile(rf"\b(?:env|environ)(?:\.get\(|\[)\s*{_NAME}"),
    re.compile(rf"\bgetenv\(\s*{_NAME}"),
    re.compile(rf"\b\w+\(\s*(?:os\.)?(?:env|environ)\s*,\s*{_NAME}"),
]


def _read_in(*parts: str) -> set[str]:
    names: set[str] = set()
    for part in parts:
        root = PROJECT / part
        for path in [root] if root.is_file() else root.rglob("*.py"):
            text = path.read_text()
            for pattern in _READS:
                names.update(pattern.findall(text))
    return names


def settings_read_by_app() -> set[str]:
    return _read_in("function_app.py", "functions", "shared")


def settings_read_by_code() -> set[str]:
    return settings_read_by_app() | _read_in("devhost")


def bicep_text() -> str:
    return "\n".join(p.read_text() for p in (PROJECT / "infra").rglob("*.bicep"))


def test_the_scan_finds_the_settings() -> None:
    assert {
        "CERTGATE_ENCRYPTION_KEYS",
        "CERTGATE_CONFIG_TTL_SECONDS",
        "AzureWebJobsStorage",
    } <= settings_read_by_app()
    assert "CERTGATE_LOCAL_FUNCTION_KEY" in settings_read_by_code() - settings_read_by_app()


@pytest.mark.parametrize("name", sorted(settings_read_by_code()))
def test_setting_is_documented_sampled_and_deployed(name: str) -> None:
    readme = (PROJECT / "README.md").read_text()
    assert f"`{name}`" in readme, f"{name} is not documented in README.md"
    if name not in NOT_IN_SAMPLE and not name.startswith(HOST_JSON_OVERRIDE):
        sample = json.loads((PROJECT / "local.settings.sample.json").read_text())["Values"]
        assert name in sample, f"{name} is missing from local.settings.sample.json"
    local_only = name not in settings_read_by_app() and name not in AZURE_HOST_SETTINGS
    if name not in NOT_IN_BICEP and not local_only:
        assert re.search(rf"\b{re.escape(name)}\b\s*:", bicep_text()), f"{name} is not set by infra/"
