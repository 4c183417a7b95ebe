"""Offline checks of infra/modules/alerts.bicep and workbook.json: the alert rules and the workbook exist and
query exactly the metric names certgate's telemetry records, so renaming a metric on one side fails here."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.infra.test_bicep import _PYCEP_SCRIPT, INFRA, _tools_dir

ALERTS = INFRA / "modules" / "alerts.bicep"
WORKBOOK = INFRA / "modules" / "workbook.json"
OPERATIONS = INFRA.parent / "docs" / "operations.md"

# The names the telemetry records (issue 10; docs/operations.md).
DAYS_TO_EXPIRY = "certgate.certificate.days_to_expiry"
REQUESTS = "certgate.gateway.requests"
DURATION = "certgate.gateway.duration"
ERRORS = "certgate.gateway.errors"
KNOWN_METRICS = {
    DAYS_TO_EXPIRY,
    REQUESTS,
    DURATION,
    ERRORS,
    "certgate.backend.handshakes",
    "certgate.backend.sessions",
    "certgate.config.reloads",
    "certgate.storage.calls",
}
METRIC_FILTER = re.compile(r'\bname\s*==\s*"([^"]+)"')


def _metric_names(query: str) -> set[str]:
    return set(METRIC_FILTER.findall(query))


@pytest.fixture(scope="module")
def trees() -> dict[str, Any]:
    texts = {name: (INFRA / name).read_text() for name in ("main.bicep", "modules/alerts.bicep")}
    proc = subprocess.run(
        [str(_tools_dir() / "python"), "-c", _PYCEP_SCRIPT],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    parsed: dict[str, Any] = json.loads(proc.stdout)
    assert all(r["error"] is None for r in parsed.values()), parsed
    return {name: r["tree"] for name, r in parsed.items()}


@pytest.fixture(scope="module")
def alerts(trees: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = trees["modules/alerts.bicep"]
    return tree


def _resources(tree: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {
        name: r["config"] for name, r in tree["resources"].items() if r["type"] == type_ and not r["existing"]
    }


def _rule_query(tree: dict[str, Any], rule: dict[str, Any]) -> str:
    (criterion,) = rule["properties"]["criteria"]["allOf"]
    query = criterion["query"]
    value = tree["variables"][query]["value"] if query in tree.get("variables", {}) else query
    assert isinstance(value, str), f"the rule's query is not a plain string: {value!r}"
    return value


def _rules(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return _resources(tree, "Microsoft.Insights/scheduledQueryRules")


def _workbook_queries() -> dict[str, str]:
    data = json.loads(WORKBOOK.read_text())
    assert data["version"] == "Notebook/1.0"
    return {item["name"]: item["content"]["query"] for item in data["items"] if item["type"] == 3}


def test_two_rules_on_application_insights(alerts: dict[str, Any]) -> None:
    rules = _rules(alerts)
    assert set(rules) == {"certificateExpiryAlert", "backendTlsErrorAlert"}
    for rule in rules.values():
        props = rule["properties"]
        (scope,) = props["scopes"]
        assert scope["operator"]["operands"] == {"operand_1": "applicationInsights", "operand_2": "id"}
        assert "actionGroup" in json.dumps(props["actions"]["actionGroups"])
        for key in ("severity", "evaluationFrequency", "windowSize"):
            assert props[key] in alerts["parameters"], f"{key} must come from a parameter"


def test_expiry_rule_queries_the_days_to_expiry_gauge(alerts: dict[str, Any]) -> None:
    query = _rule_query(alerts, _rules(alerts)["certificateExpiryAlert"])
    assert _metric_names(query) == {DAYS_TO_EXPIRY}
    assert query.startswith("customMetrics |")
    assert "certificate_id=tostring(customDimensions.certificate_id)" in query
    assert "kind=tostring(customDimensions.kind)" in query
    assert query.endswith("| where min_value < ${expiryWarningDays}")
    assert int(alerts["parameters"]["expiryWarningDays"]["default"]) == 14


def test_tls_rule_counts_backend_tls_errors_against_a_parameter(alerts: dict[str, Any]) -> None:
    rule = _rules(alerts)["backendTlsErrorAlert"]
    query = _rule_query(alerts, rule)
    assert _metric_names(query) == {ERRORS}
    assert 'tostring(customDimensions.code) == "BackendTlsError"' in query
    (criterion,) = rule["properties"]["criteria"]["allOf"]
    assert criterion["threshold"] == "tlsErrorThreshold"
    assert criterion["metricMeasureColumn"] == "errors" and "summarize errors=" in query


def test_action_group_mails_only_when_an_address_is_given(
    alerts: dict[str, Any], trees: dict[str, Any]
) -> None:
    (group,) = _resources(alerts, "Microsoft.Insights/actionGroups").values()
    assert group["properties"]["emailReceivers"] == "emailReceivers"
    receivers = json.dumps(alerts["variables"]["emailReceivers"]["value"])
    assert '"empty"' in receivers and "alertEmail" in receivers
    assert alerts["parameters"]["alertEmail"]["default"] == ""
    main = trees["main.bicep"]
    assert main["parameters"]["alertEmail"]["default"] == ""
    assert main["modules"]["alerts"]["config"]["params"]["alertEmail"] == "alertEmail"


def test_workbook_has_a_guid_name_and_loads_its_json(alerts: dict[str, Any]) -> None:
    (workbook,) = _resources(alerts, "Microsoft.Insights/workbooks").values()
    assert workbook["name"]["function"]["type"] == "guid"
    data = workbook["properties"]["serializedData"]["function"]
    assert data["type"] == "load_text_content" and data["parameters"]["file_path"] == WORKBOOK.name


def test_workbook_tiles_query_exactly_the_gateway_and_expiry_metrics() -> None:
    queries = _workbook_queries()
    named = {tile: _metric_names(q) for tile, q in queries.items()}
    assert all(len(names) == 1 for names in named.values()), named
    used = set().union(*named.values())
    assert used == {REQUESTS, ERRORS, DURATION, DAYS_TO_EXPIRY}
    assert used <= KNOWN_METRICS
    for tile, query in queries.items():
        by = "certificate_id" if DAYS_TO_EXPIRY in named[tile] else "api"
        assert f"{by} = tostring(customDimensions.{by})" in query, tile


def test_a_renamed_metric_is_caught() -> None:
    # The refusal twin: the same checks on a query whose metric was renamed must not pass.
    query = _workbook_queries()["daysToExpiry"].replace(DAYS_TO_EXPIRY, "certgate.certificate.days_left")
    assert _metric_names(query) != {DAYS_TO_EXPIRY}
    assert not _metric_names(query) <= KNOWN_METRICS


def test_operations_doc_shows_the_deployed_queries(alerts: dict[str, Any]) -> None:
    doc = OPERATIONS.read_text()
    for name, query in _workbook_queries().items():
        assert f"```kusto\n{query}\n```" in doc, f"docs/operations.md lacks the KQL of tile {name}"
    for name, rule in _rules(alerts).items():
        query = _rule_query(alerts, rule).replace("${expiryWarningDays}", "14")
        assert f"```kusto\n{query}\n```" in doc, f"docs/operations.md lacks the KQL of {name}"
