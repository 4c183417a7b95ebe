"""Offline checks of infra/: every file parses (pycep), checkov finds nothing, and the templates keep the
promises docs/deploy.md relies on. No Bicep compiler and no Azure access are needed.

The tools (checkov, and pycep which checkov pins) come from requirements-infra.txt, installed in the venv
that runs pytest or in .venv-infra (checkov's pins conflict with the app's dev packages).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
PARAM_FILE = INFRA / "main.bicepparam"

REQUIRED_APP_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__credential",
    "CERTGATE_BACKEND_TIMEOUT_SECONDS",
    "CERTGATE_BACKEND_IDLE_TIMEOUT_SECONDS",
    "CERTGATE_CONFIG_TTL_SECONDS",
    "CERTGATE_MAX_UPLOAD_BYTES",
    "CERTGATE_MAX_GATEWAY_BODY_BYTES",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
    "CERTGATE_ENCRYPTION_KEYS",
    "CERTGATE_TABLE_PREFIX",
    "CERTGATE_BLOB_CONTAINER",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
}
ROLE_DEFINITIONS = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}
# API versions known to exist; a typo here would only show at deployment time.
API_VERSIONS = {
    "Microsoft.Web/serverfarms": "2024-04-01",
    "Microsoft.Web/sites": "2024-04-01",
    "Microsoft.Web/sites/config": "2024-04-01",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": "2024-04-01",
    "Microsoft.Storage/storageAccounts": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2023-05-01",
    "Microsoft.KeyVault/vaults": "2023-07-01",
    "Microsoft.KeyVault/vaults/secrets": "2023-07-01",
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.Insights/actionGroups": "2023-01-01",
    "Microsoft.Insights/scheduledQueryRules": "2023-12-01",
    "Microsoft.Insights/workbooks": "2023-06-01",
    "Microsoft.OperationalInsights/workspaces": "2023-09-01",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.Authorization/roleDefinitions": "2022-04-01",
}
SECRET_NAME = re.compile(r"(?i)(password|secret|token|connectionstring|keys)$")
RESOURCE_ID_FUNCTIONS = {
    "resource_id",
    "subscription_resource_id",
    "tenant_resource_id",
    "extension_resource_id",
    "management_group_resource_id",
}
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
SKIP_COMMENT = re.compile(r"checkov:skip=([^:\s]*)(:?)(.*)")

# Parses each text given as {name: text} on stdin; prints {name: {"tree": ..., "error": ...}}.
_PYCEP_SCRIPT = """
import json, sys
from pycep import BicepParser
parser = BicepParser(add_line_numbers=False)
out = {}
for name, text in json.load(sys.stdin).items():
    try:
        out[name] = {"tree": parser.parse(text=text), "error": None}
    except Exception as exc:
        out[name] = {"tree": None, "error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
"""


def _tools_dir() -> Path:
    for candidate in (Path(sys.executable).parent, ROOT / ".venv-infra" / "bin"):
        if (candidate / "checkov").exists() and (candidate / "python").exists():
            return candidate
    pytest.fail(
        "checkov/pycep not found next to the running Python nor in .venv-infra/bin; install them with "
        "scripts/setup, or: python3.11 -m venv .venv-infra && "
        ".venv-infra/bin/pip install -r requirements-infra.txt"
    )


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _param_file_as_bicep(text: str) -> str:
    """The .bicepparam body as Bicep pycep can parse: `param x = v` becomes `var x = v`, and an
    environment read becomes the marker string '<env:NAME>'."""
    body = re.sub(r"(?m)^using\s+'[^']*'\s*$", "", text)
    body = re.sub(r"(?m)^param\s+(\w+)\s*=", r"var \1 =", body)
    return re.sub(r"readEnvironmentVariable\('(\w+)'(?:\s*,\s*'[^']*')?\)", r"'<env:\1>'", body)


@pytest.fixture(scope="session")
def parsed() -> dict[str, Any]:
    texts = {_rel(f): f.read_text() for f in BICEP_FILES}
    texts[_rel(PARAM_FILE)] = _param_file_as_bicep(PARAM_FILE.read_text())
    proc = subprocess.run(
        [str(_tools_dir() / "python"), "-c", _PYCEP_SCRIPT],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"pycep helper failed:\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="session")
def trees(parsed: dict[str, Any]) -> dict[str, Any]:
    errors = {name: r["error"] for name, r in parsed.items() if r["error"]}
    assert not errors, f"pycep could not parse: {errors}"
    return {name: r["tree"] for name, r in parsed.items() if name.endswith(".bicep")}


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    proc = subprocess.run(
        [
            str(_tools_dir() / "checkov"),
            "-d",
            str(INFRA),
            "--framework",
            "bicep",
            "--output",
            "json",
            "--skip-download",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    reports = report if isinstance(report, list) else [report]
    bicep = [r for r in reports if isinstance(r, dict) and r.get("check_type") == "bicep"]
    assert len(bicep) == 1, f"expected one bicep report from checkov, got: {str(report)[:2000]}"
    return bicep[0]


def _resources(trees: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    """Resources of a type declared (not `existing`) in any file."""
    found = []
    for tree in trees.values():
        for res in tree.get("resources", {}).values():
            if res["type"] == type_ and not res["existing"]:
                found.append(res["config"])
    return found


def _one(trees: dict[str, Any], type_: str) -> dict[str, Any]:
    found = _resources(trees, type_)
    assert len(found) == 1, f"expected exactly one {type_}, found {len(found)}"
    return found[0]


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _mentions(node: Any, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", json.dumps(node)) is not None


def _secure_params(tree: dict[str, Any]) -> set[str]:
    return {
        name
        for name, p in tree.get("parameters", {}).items()
        if any(d["type"] == "secure" for d in p["decorators"])
    }


# (a) parsing


@pytest.mark.parametrize("path", [_rel(f) for f in BICEP_FILES] + [_rel(PARAM_FILE)])
def test_file_parses_with_pycep(parsed: dict[str, Any], path: str) -> None:
    assert parsed[path]["error"] is None, parsed[path]["error"]


def test_expected_files_exist() -> None:
    assert (INFRA / "main.bicep") in BICEP_FILES
    assert PARAM_FILE.exists()


def test_param_file_matches_main(parsed: dict[str, Any], trees: dict[str, Any]) -> None:
    # pycep cannot read .bicepparam itself: check `using`, then the assignments (parsed above as vars).
    text = PARAM_FILE.read_text()
    usings = re.findall(r"(?m)^using\s+'([^']+)'\s*$", text)
    assert usings == ["./main.bicep"], f"{PARAM_FILE.name} must start with using './main.bicep'"
    main = trees["infra/main.bicep"]["parameters"]
    assigned = parsed[_rel(PARAM_FILE)]["tree"].get("variables", {})
    assert set(re.findall(r"(?m)^param\s+(\w+)", text)) == set(assigned)
    assert not set(assigned) - set(main), f"unknown params: {sorted(set(assigned) - set(main))}"
    required = {name for name, p in main.items() if p.get("default") is None}
    assert not required - set(assigned), f"required params not assigned: {sorted(required - set(assigned))}"
    for name in _secure_params(trees["infra/main.bicep"]) & set(assigned):
        value = assigned[name]["value"]
        assert isinstance(value, str) and value.startswith("<env:"), (
            f"secure param {name} must come from readEnvironmentVariable(), never a literal"
        )


# (b) checkov


def test_checkov_parses_every_file(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["results"].get("parsing_errors", []) == []
    assert checkov_report["summary"]["parsing_errors"] == 0
    assert checkov_report["summary"]["resource_count"] > 0
    assert checkov_report["summary"]["passed"] > 0


def test_checkov_has_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in checkov_report["results"].get("failed_checks", [])
    ]
    assert checkov_report["summary"]["failed"] == 0 and not failed, "\n".join(failed)


def test_every_skip_is_justified_and_used(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"].get("skipped_checks", [])
    for check in skipped:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason) >= 15 and reason != "No comment provided", f"unjustified skip: {check['check_id']}"
    used = {(c["file_path"].lstrip("/"), c["check_id"]) for c in skipped}
    for path in BICEP_FILES:
        for line in path.read_text().splitlines():
            match = SKIP_COMMENT.search(line)
            if match:
                check_id, colon, reason = match.groups()
                assert re.fullmatch(r"CKV2?_AZURE_\d+", check_id) and colon and reason.strip(), line
                key = (path.relative_to(INFRA).as_posix(), check_id)
                assert key in used, f"stale skip (check passes or does not exist): {key}"


# (c) structure


def test_names_are_lower_camel_case(trees: dict[str, Any]) -> None:
    for path, tree in trees.items():
        for section in ("parameters", "variables", "outputs", "resources", "modules"):
            for name in tree.get(section, {}):
                assert CAMEL.match(name), f"{path}: {section} {name} is not lowerCamelCase"


def test_every_param_and_output_has_a_description(trees: dict[str, Any]) -> None:
    for path, tree in trees.items():
        for section in ("parameters", "outputs"):
            for name, item in tree.get(section, {}).items():
                descriptions = [d for d in item["decorators"] if d["type"] == "description"]
                assert descriptions, f"{path}: {name} has no @description"
                assert descriptions[0]["argument"].strip(), f"{path}: {name} has an empty @description"


def test_secret_params_are_secure_without_default(trees: dict[str, Any]) -> None:
    assert "encryptionKeys" in _secure_params(trees["infra/main.bicep"])
    for path, tree in trees.items():
        for name in tree.get("parameters", {}):
            if SECRET_NAME.search(name):
                assert name in _secure_params(tree), f"{path}: {name} looks secret but is not @secure()"
        for name in _secure_params(tree):
            assert tree["parameters"][name].get("default") is None, f"{path}: secure {name} has a default"


def test_secure_values_stay_secure_across_modules(trees: dict[str, Any]) -> None:
    for path, tree in trees.items():
        secure = _secure_params(tree)
        for module in tree.get("modules", {}).values():
            target = trees[(Path(path).parent / module["detail"]["path"]).as_posix()]
            for param, value in module["config"].get("params", {}).items():
                if any(_mentions(value, s) for s in secure):
                    assert param in _secure_params(target), f"{path} passes a secret to non-secure {param}"


def test_no_output_exposes_a_secret(trees: dict[str, Any]) -> None:
    for path, tree in trees.items():
        for name, output in tree.get("outputs", {}).items():
            for secret in _secure_params(tree):
                assert not _mentions(output["value"], secret), f"{path}: output {name} mentions {secret}"
            dumped = json.dumps(output["value"]).lower()
            for word in ("listkeys", "list", "getsecret", "connectionstring", "secretvalue"):
                assert not re.search(rf"\b{word}", dumped), f"{path}: output {name} mentions {word}"


def test_symbolic_references_instead_of_resource_id(trees: dict[str, Any]) -> None:
    for path, tree in trees.items():
        used = {
            n["function"]["type"]
            for n in _walk(tree)
            if isinstance(n, dict) and "function" in n and isinstance(n["function"], dict)
        }
        assert not used & RESOURCE_ID_FUNCTIONS, f"{path} uses {sorted(used & RESOURCE_ID_FUNCTIONS)}"


def test_api_versions_are_known(trees: dict[str, Any]) -> None:
    for path, tree in trees.items():
        for name, res in tree.get("resources", {}).items():
            assert API_VERSIONS.get(res["type"]) == res["api_version"], (
                f"{path}: {name} uses {res['type']}@{res['api_version']}"
            )


def test_storage_account_is_locked_down(trees: dict[str, Any]) -> None:
    props = _one(trees, "Microsoft.Storage/storageAccounts")["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["allowBlobPublicAccess"] is False
    assert props["supportsHttpsTrafficOnly"] is True
    for container in _resources(trees, "Microsoft.Storage/storageAccounts/blobServices/containers"):
        assert container["properties"]["publicAccess"] == "None"


def test_function_app_is_flex_python_with_system_identity(trees: dict[str, Any]) -> None:
    plan = _one(trees, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["properties"]["reserved"] is True
    site = _one(trees, "Microsoft.Web/sites")
    assert "linux" in site["kind"]
    assert site["identity"]["type"] == "SystemAssigned"
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    config = props["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.13"}
    assert config["deployment"]["storage"]["authentication"]["type"] == "SystemAssignedIdentity"
    policies = _resources(trees, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {p["name"]: p["properties"]["allow"] for p in policies} == {"ftp": False, "scm": False}


def _param(tree: dict[str, Any], name: str) -> dict[str, Any]:
    param: dict[str, Any] = tree["parameters"][name]
    return param


def _decorator(param: dict[str, Any], type_: str) -> Any:
    found = [d["argument"] for d in param["decorators"] if d["type"] == type_]
    return found[0] if found else None


def test_http_concurrency_is_a_bounded_parameter(trees: dict[str, Any]) -> None:
    # Python's per-instance HTTP concurrency defaults to 1 on Flex Consumption; the gateway mostly waits on
    # backends, so the value is set, from a parameter that main.bicep passes down (docs/deploy.md).
    site = _one(trees, "Microsoft.Web/sites")
    http = site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["triggers"]["http"]
    assert http == {"perInstanceConcurrency": "httpPerInstanceConcurrency"}
    for path in ("infra/main.bicep", "infra/modules/functionapp.bicep"):
        param = _param(trees[path], "httpPerInstanceConcurrency")
        assert param["type"] == "int"
        assert int(_decorator(param, "min_value")) == 1 and int(_decorator(param, "max_value")) == 1000, path
        assert 1 <= int(param["default"]) <= 1000
    module = trees["infra/main.bicep"]["modules"]["functionApp"]["config"]["params"]
    assert module["httpPerInstanceConcurrency"] == "httpPerInstanceConcurrency"


def test_app_settings_are_complete_and_identity_based(trees: dict[str, Any]) -> None:
    configs = [c for c in _resources(trees, "Microsoft.Web/sites/config") if c["name"] == "appsettings"]
    assert len(configs) == 1
    settings = configs[0]["properties"]
    missing = REQUIRED_APP_SETTINGS - set(settings)
    assert not missing, f"app settings missing: {sorted(missing)}"
    assert "AzureWebJobsStorage" not in settings, "no connection string in Azure: identity-based only"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["CERTGATE_ENCRYPTION_KEYS"].startswith("@Microsoft.KeyVault(SecretUri=")


def test_key_vault_holds_the_key_ring(trees: dict[str, Any]) -> None:
    props = _one(trees, "Microsoft.KeyVault/vaults")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    secret = _one(trees, "Microsoft.KeyVault/vaults/secrets")
    assert secret["properties"]["value"] == "encryptionKeys"
    assert "encryptionKeys" in _secure_params(trees["infra/modules/keyvault.bicep"])


def test_role_assignments_use_guid_names(trees: dict[str, Any]) -> None:
    assignments = _resources(trees, "Microsoft.Authorization/roleAssignments")
    assert len(assignments) == len(ROLE_DEFINITIONS)
    for assignment in assignments:
        assert assignment["name"]["function"]["type"] == "guid"
        assert assignment["properties"]["principalType"] == "ServicePrincipal"
    role_ids = {
        res["config"]["name"]
        for tree in trees.values()
        for res in tree.get("resources", {}).values()
        if res["type"] == "Microsoft.Authorization/roleDefinitions"
    }
    assert role_ids == set(ROLE_DEFINITIONS), "role definitions differ from the four certgate needs"


def test_monitoring_is_workspace_based(trees: dict[str, Any]) -> None:
    _one(trees, "Microsoft.OperationalInsights/workspaces")
    insights = _one(trees, "Microsoft.Insights/components")
    assert "WorkspaceResourceId" in insights["properties"]
