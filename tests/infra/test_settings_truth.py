"""One truth for settings: every setting the code reads is in local.settings.sample.json,
documented in README.md, and set by the Bicep templates (or knowingly left to an alternative)."""

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
# Read by the code but not app settings a local user sets.
NOT_IN_SAMPLE = {
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__clientId",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
}


def settings_read_by_code() -> set[str]:
    names: set[str] = set()
    for path in [*(PROJECT / "shared").rglob("*.py"), *(PROJECT / "functions").rglob("*.py")]:
        text = path.read_text()
        names.update(re.findall(r'env\.get\("([A-Za-z_][A-Za-z0-9_]*)"', text))
        names.update(re.findall(r'_number\(env, "([A-Za-z_][A-Za-z0-9_]*)"', text))
    return names


def bicep_text() -> str:
    return "\n".join(p.read_text() for p in (PROJECT / "infra").rglob("*.bicep"))


def test_the_scan_finds_the_settings() -> None:
    assert {
        "CERTGATE_ENCRYPTION_KEYS",
        "CERTGATE_CONFIG_TTL_SECONDS",
        "AzureWebJobsStorage",
    } <= settings_read_by_code()


@pytest.mark.parametrize("name", sorted(settings_read_by_code()))
def test_setting_is_documented_sampled_and_deployed(name: str) -> None:
    readme = (PROJECT / "README.md").read_text()
    assert f"`{name}`" in readme, f"{name} is not documented in README.md"
    if name not in NOT_IN_SAMPLE:
        sample = json.loads((PROJECT / "local.settings.sample.json").read_text())["Values"]
        assert name in sample, f"{name} is missing from local.settings.sample.json"
    if name not in NOT_IN_BICEP:
        assert re.search(rf"\b{re.escape(name)}\b\s*:", bicep_text()), f"{name} is not set by infra/"
