"""The OpenAPI document (shared/openapi.json): valid OpenAPI 3.1, exactly the routes the local
host serves, exactly the error codes of shared/errors.py, served at /openapi/v3.json; and the
management routes' answers conform to it (schemathesis, property-based, bounded)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, Response
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from shared import errors
from tests.services import PROJECT, TEST_KEY_RING, DevHost
from tests.support.pki import Issued, pfx_cryptography, self_signed

DOCUMENT = PROJECT / "shared" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 30  # per operation, valid and invalid data mixed

# The route table of the app, as the local host builds it: from a real worker's index
# (devhost.index starts one worker process and reads its function metadata).
ROUTES_SCRIPT = """
import runpy, sys
sys.argv = ["devhost.index", "."]
runpy.run_module("devhost.index", run_name="__main__")
"""


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document()["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(node: Any) -> Any:
    """Follow local `$ref`s (`#/components/...`) until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair of the document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield None, value
            yield from walk(value)


def enumerated_codes(schema: Any) -> set[str]:
    """The values a schema enumerates for `error.code` (through refs and allOf)."""
    found: set[str] = set()
    for key, value in walk(resolve(schema)):
        if key == "code" and isinstance(value, dict) and "enum" in value:
            found.update(value["enum"])
    return found


def contract_errors() -> dict[str, int]:
    """code -> HTTP status of every CertgateError class (InternalError: the base, 500)."""
    classes: list[type[errors.CertgateError]] = [errors.CertgateError]
    found: dict[str, int] = {}
    while classes:
        cls = classes.pop()
        found.setdefault(cls.code, cls.status)
        classes.extend(cls.__subclasses__())
    return found


# (a) ----------------------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    schema = schemathesis.openapi.from_path(DOCUMENT)
    schema.validate()  # the OpenAPI 3.1 meta-schema (jsonschema_rs, draft 2020-12)
    for result in schema.get_all_operations():  # every operation loads (refs, parameters, bodies)
        assert isinstance(result, Ok), result.err()
    # Every Schema Object is itself a valid JSON Schema (2020-12, the 3.1 dialect).
    schema_objects = [v for k, v in walk(doc) if k == "schema"] + list(doc["components"]["schemas"].values())
    for node in schema_objects:
        jsonschema_rs.meta.validate(node)
    # Every reference resolves, and every component is used.
    refs = {v for k, v in walk(doc) if k == "$ref"}
    for ref in refs:
        assert ref.startswith("#/components/"), ref
        resolve({"$ref": ref})
    for kind, members in doc["components"].items():
        if kind != "securitySchemes":
            for name in members:
                assert f"#/components/{kind}/{name}" in refs, f"{kind}/{name} is never used"
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))


# (b) ----------------------------------------------------------------------------------------


def served_routes() -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-c", ROUTES_SCRIPT],
        cwd=PROJECT,
        env={**os.environ, "CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    routes: list[dict[str, Any]] = json.loads(result.stdout.splitlines()[-1])
    return routes


def test_paths_and_methods_are_the_routes_the_host_serves() -> None:
    doc = document()
    served: dict[tuple[str, str], dict[str, Any]] = {}
    for route in served_routes():
        path = "/" + re.sub(r"\{\*(\w+)\}", r"{\1}", route["template"])  # catch-all {*path} -> {path}
        for method in route["methods"]:
            served[(path, method.lower())] = route
    documented = {(path, method) for path, method, _ in operations()}
    assert documented == set(served)
    for (path, method), route in served.items():
        op = doc["paths"][path][method]
        assert op["operationId"] in (route["name"], f"{route['name']}_{method}"), (path, method)
        anonymous = op.get("security", doc["security"]) == []
        assert anonymous == (route["auth"] == "anonymous"), (path, method)


# (c) ----------------------------------------------------------------------------------------


def test_error_codes_are_those_of_shared_errors() -> None:
    known = contract_errors()
    documented: set[str] = set()
    for path, method, op in operations():
        for status, response in op["responses"].items():
            content = resolve(response).get("content", {})
            if "application/json" not in content:
                continue
            codes = enumerated_codes(content["application/json"]["schema"])
            documented |= codes
            for code in codes:  # each code under the status its error class maps to
                assert code in known, (path, method, status, code)
                assert known[code] == int(status), (path, method, status, code)
    assert documented == set(known)
    # Every operation documents 500 InternalError (the gateway also KeyRingMismatch); every
    # keyed one 401 Unauthorized.
    for path, method, op in operations():
        expected = {"InternalError", "KeyRingMismatch"} if path.startswith("/gateway/") else {"InternalError"}
        assert codes_of(op["responses"]["500"]) == expected, (path, method)
        if op.get("security", document()["security"]) != []:
            assert codes_of(op["responses"]["401"]) == {"Unauthorized"}, (path, method)


def codes_of(response: Any) -> set[str]:
    return enumerated_codes(resolve(response)["content"]["application/json"]["schema"])


# (d) ----------------------------------------------------------------------------------------


def test_the_host_serves_the_document(devhost: DevHost) -> None:
    response = requests.get(f"{devhost.url}/openapi/v3.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert response.content == DOCUMENT.read_bytes()
    assert response.json() == document()


def test_a_real_lifecycle_conforms(devhost: DevHost, client_rsa: Issued, uid: str) -> None:
    """What generated data cannot reach (real certificates, bindings, a refused delete with its
    details, pages with a nextLink), through the document's operations and the same checks."""
    schema = schemathesis.openapi.from_path(DOCUMENT)
    cert_item, api_item = "/management/certificates/{certificateId}", "/management/apis/{apiId}"

    def call(method: str, path: str, status: int, code: str | None = None, **data: Any) -> Response:
        case = schema[path][method].Case(**data)
        response = case.call_and_validate(base_url=devhost.url, checks=CHECKS, timeout=30)
        assert response.status_code == status, (method, path, response.text)
        if code is not None:
            assert response.json()["error"]["code"] == code
        return response

    def upload(issued: Issued, password: str) -> dict[str, Any]:
        data = base64.b64encode(pfx_cryptography(issued, "pw")).decode()
        return {"properties": {"data": data, "password": password}}

    def spec(path: str, cert_id: str) -> dict[str, Any]:
        return {
            "properties": {
                "displayName": "Orders",
                "path": path,
                "serviceUrl": "https://orders.example/api",
                "credentials": {"certificateId": cert_id},
                "tls": {"validateCertificateChain": True, "validateCertificateName": False},
            }
        }

    cert, other, api, api2 = (
        {"certificateId": uid},
        {"certificateId": f"{uid}-b"},
        {"apiId": uid},
        {"apiId": f"{uid}-2"},
    )
    etag = call("PUT", cert_item, 201, path_parameters=cert, body=upload(client_rsa, "pw")).headers["etag"]
    again = call("PUT", cert_item, 200, path_parameters=cert, body=upload(client_rsa, "pw"))
    assert again.headers["etag"] == etag  # the identical certificate: a no-op
    call("PUT", cert_item, 400, "InvalidPassword", path_parameters=cert, body=upload(client_rsa, "wrong"))
    none_match = {"If-None-Match": "*"}
    call(
        "PUT",
        cert_item,
        412,
        "PreconditionFailed",
        path_parameters=cert,
        body=upload(client_rsa, "pw"),
        headers=none_match,
    )
    call("PUT", cert_item, 201, path_parameters=other, body=upload(self_signed(f"{uid}-b"), "pw"))
    call("PUT", api_item, 201, path_parameters=api, body=spec(f"{uid}/v1", uid))
    call("PUT", api_item, 409, "PathInUse", path_parameters=api2, body=spec(f"{uid}/v1", uid))
    call(
        "PUT", api_item, 400, "CertificateNotFound", path_parameters=api2, body=spec(f"{uid}/v2", f"{uid}-x")
    )
    call("PUT", api_item, 201, path_parameters=api2, body=spec(f"{uid}/v2", uid))
    used_by = call("GET", cert_item, 200, path_parameters=cert).json()["properties"]["usedBy"]
    assert used_by == [uid, f"{uid}-2"]
    call("GET", api_item, 200, path_parameters=api)
    call("GET", "/management/apis/{apiId}/policy", 200, path_parameters=api)
    for listing in ("/management/certificates", "/management/apis"):
        page = call("GET", listing, 200, query={"$top": 1, "api-version": "2024-05-01"}).json()
        assert page["nextLink"].startswith(f"{devhost.url}{listing}?")
    refused = call("DELETE", cert_item, 409, "CertificateInUse", path_parameters=cert)
    assert [d["target"] for d in refused.json()["error"]["details"]] == [uid, f"{uid}-2"]
    stale = {"If-Match": '"stale"'}
    call("DELETE", cert_item, 412, "PreconditionFailed", path_parameters=cert, headers=stale)
    for item in (api, api2):
        call("DELETE", api_item, 200, path_parameters=item)
    call("DELETE", api_item, 204, path_parameters=api)
    call("GET", api_item, 404, "ResourceNotFound", path_parameters=api)
    call("DELETE", cert_item, 200, path_parameters=cert, headers={"If-Match": "*"})
    call("DELETE", cert_item, 200, path_parameters=other)
    call("DELETE", cert_item, 204, path_parameters=cert)
    call("GET", cert_item, 404, "ResourceNotFound", path_parameters=cert)


# (e) ----------------------------------------------------------------------------------------

FUZZED = [f"{method.upper()} {path}" for path, method, _ in operations() if not path.startswith("/gateway/")]


@pytest.fixture(scope="module")
def fuzz_tally() -> Iterator[Counter[str]]:
    tally: Counter[str] = Counter()
    started = time.monotonic()
    yield tally
    print(f"\nschemathesis: {sum(tally.values())} cases in {time.monotonic() - started:.1f} s")
    for key, count in sorted(tally.items()):
        print(f"  {key}: {count}")
    assert time.monotonic() - started < 120, f"schemathesis took {time.monotonic() - started:.0f} s"


@pytest.mark.parametrize("label", FUZZED)
def test_answers_conform_to_the_document(devhost: DevHost, label: str, fuzz_tally: Counter[str]) -> None:
    """Generated requests (valid and invalid data) against the management routes, /health and
    /openapi/v3.json: no 5xx at all, and every answer's status, content type, headers and body are
    documented. Derandomized, so a run is repeatable. The gateway is left out: its answers are
    the backend's."""
    method, path = label.split(" ", 1)
    operation = schemathesis.openapi.from_path(DOCUMENT)[path][method]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if operation.path_parameters or operation.query or operation.headers or operation.body:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    session = requests.Session()

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=timedelta(seconds=5),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=st.one_of(strategies))
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(base_url=devhost.url, session=session, checks=CHECKS, timeout=10)
        fuzz_tally[f"{label} -> {response.status_code}"] += 1

    run()
