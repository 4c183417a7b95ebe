"""Backend credentials (APIM's Backend entity) over the local host: a backend that requires
each one, every pass with its refusal twin (the backend's 401 comes back unchanged), the
client's same-named header or query parameter replaced, named values resolved and changed."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from tests.api.client import Management, error_code
from tests.services import DevHost
from tests.support.pki import Issued, pfx_cryptography
from tests.support.tls_backends import EchoBackend

BASIC = "Basic " + base64.b64encode(b"orders:pa55-w0rd").decode()
API_KEY = "k3y-f0r-the-backend"


class _Requiring(BaseHTTPRequestHandler):
    """200 with what it saw when the request carries every credential; else 401."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        seen = {"path": url.path, "query": query, "headers": [[k, v] for k, v in self.headers.items()]}
        need = url.path.rsplit("/", 1)[-1]
        ok = {
            "basic": self.headers.get_all("Authorization") == [BASIC],
            "header": self.headers.get_all("x-api-key") == [API_KEY],
            "query": [v for k, v in query if k == "key"] == [API_KEY],
        }[need]
        body = json.dumps(seen if ok else {"denied": need}).encode()
        self.send_response(200 if ok else 401)
        if not ok:
            self.send_header("WWW-Authenticate", 'Basic realm="orders"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Requiring)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def _named_value(mgmt: Management, nv_id: str, value: str, *, secret: bool = True) -> None:
    body = {"properties": {"value": value, "secret": secret}}
    put = mgmt.session.put(f"{mgmt.base}/management/namedValues/{nv_id}", json=body, timeout=30)
    assert put.status_code in (200, 201), put.text


def _api(mgmt: Management, api_id: str, backend: str, credentials: dict[str, Any]) -> requests.Response:
    props = {"path": api_id, "serviceUrl": backend, "credentials": credentials}
    return mgmt.session.put(f"{mgmt.base}/management/apis/{api_id}", json={"properties": props}, timeout=30)


def _call(mgmt: Management, api_id: str, need: str, **kwargs: Any) -> requests.Response:
    return requests.get(f"{mgmt.base}/gateway/{api_id}/{need}", timeout=10, **kwargs)


def test_basic_from_a_secret_named_value(mgmt: Management, backend: str, uid: str) -> None:
    _named_value(mgmt, f"{uid}-basic", BASIC.split()[1])
    put = _api(
        mgmt, uid, backend, {"authorization": {"scheme": "Basic", "parameter": f"{{{{{uid}-basic}}}}"}}
    )
    assert put.status_code == 201, put.text
    assert put.json()["properties"]["credentials"]["authorization"]["parameter"] == f"{{{{{uid}-basic}}}}"
    passed = _call(mgmt, uid, "basic", headers={"Authorization": "Bearer the-clients-own"})
    assert passed.status_code == 200, passed.text
    assert [v for k, v in passed.json()["headers"] if k.lower() == "authorization"] == [BASIC]
    policy = mgmt.get(f"/management/apis/{uid}/policy").json()["properties"]["value"]
    assert f"<value>Basic {{{{{uid}-basic}}}}</value>" in policy
    for text in (put.text, mgmt.get(f"/management/apis/{uid}").text, policy):
        assert BASIC.split()[1] not in text
    # the twin: a wrong secret, and no credentials at all; the backend's 401 comes back as it is
    _named_value(mgmt, f"{uid}-basic", base64.b64encode(b"orders:wrong").decode())
    refused = _call(mgmt, uid, "basic")
    assert refused.status_code == 401 and refused.json() == {"denied": "basic"}
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="orders"'
    assert _api(mgmt, f"{uid}-none", backend, {}).status_code == 201
    assert _call(mgmt, f"{uid}-none", "basic", headers={"Authorization": BASIC}).status_code == 200
    assert _call(mgmt, f"{uid}-none", "basic").status_code == 401


def test_header_replaces_the_clients(mgmt: Management, backend: str, uid: str) -> None:
    _named_value(mgmt, f"{uid}-key", API_KEY)
    assert _api(mgmt, uid, backend, {"header": {"X-Api-Key": [f"{{{{{uid}-key}}}}"]}}).status_code == 201
    passed = _call(mgmt, uid, "header", headers={"x-api-key": "the clients own"})
    assert passed.status_code == 200, passed.text
    assert [v for k, v in passed.json()["headers"] if k.lower() == "x-api-key"] == [API_KEY]
    policy = mgmt.get(f"/management/apis/{uid}/policy").json()["properties"]["value"]
    assert '<set-header name="X-Api-Key" exists-action="override">' in policy
    assert f"<value>{{{{{uid}-key}}}}</value>" in policy and API_KEY not in policy
    _named_value(mgmt, f"{uid}-key", "not the key")  # takes effect at once on this instance
    refused = _call(mgmt, uid, "header", headers={"x-api-key": API_KEY})  # the client's never goes
    assert refused.status_code == 401 and refused.json() == {"denied": "header"}
    _named_value(mgmt, f"{uid}-key", API_KEY)
    assert _call(mgmt, uid, "header").status_code == 200


def test_query_replaces_the_clients(mgmt: Management, backend: str, uid: str) -> None:
    _named_value(mgmt, f"{uid}-q", API_KEY)
    query = {"key": [f"{{{{{uid}-q}}}}"], "sv": ["2024-01-01"]}
    assert _api(mgmt, uid, backend, {"query": query}).status_code == 201
    passed = _call(mgmt, uid, "query", params={"key": "mine", "other": "1", "sv": "1999"})
    assert passed.status_code == 200, passed.text
    assert sorted(passed.json()["query"]) == [["key", API_KEY], ["other", "1"], ["sv", "2024-01-01"]]
    policy = mgmt.get(f"/management/apis/{uid}/policy").json()["properties"]["value"]
    assert '<set-query-parameter name="sv" exists-action="override">' in policy
    _named_value(mgmt, f"{uid}-q", "wrong")
    refused = _call(mgmt, uid, "query", params={"key": API_KEY})
    assert refused.status_code == 401 and refused.json() == {"denied": "query"}


def test_references_are_checked_and_guard_deletes(mgmt: Management, backend: str, uid: str) -> None:
    unknown = _api(mgmt, uid, backend, {"header": {"x-api-key": [f"{{{{{uid}-missing}}}}"]}})
    assert unknown.status_code == 400 and error_code(unknown) == "NamedValueNotFound"
    assert mgmt.get(f"/management/apis/{uid}").status_code == 404
    _named_value(mgmt, f"{uid}-k", API_KEY)
    for api_id in (f"{uid}-a2", f"{uid}-a1"):
        credentials = {"query": {"key": [f"prefix-{{{{{uid}-k}}}}"]}}
        assert _api(mgmt, api_id, backend, credentials).status_code == 201
    item = f"/management/namedValues/{uid}-k"
    refused = mgmt.delete(item)
    assert refused.status_code == 409 and error_code(refused) == "NamedValueInUse", refused.text
    assert [d["target"] for d in refused.json()["error"]["details"]] == [f"{uid}-a1", f"{uid}-a2"]
    assert mgmt.get(item).status_code == 200
    assert mgmt.delete(f"/management/apis/{uid}-a1").status_code == 200
    assert mgmt.delete(f"/management/apis/{uid}-a2").status_code == 200
    assert mgmt.delete(item).status_code == 200


def test_literal_basic_in_policy_and_refusals(mgmt: Management, backend: str, uid: str) -> None:
    literal = {"authorization": {"scheme": "Basic", "parameter": BASIC.split()[1]}}
    assert _api(mgmt, uid, backend, literal).status_code == 201
    policy = mgmt.get(f"/management/apis/{uid}/policy").json()["properties"]["value"]
    assert '<authentication-basic username="orders" password="pa55-w0rd" />' in policy
    assert _call(mgmt, uid, "basic").status_code == 200
    for credentials, target in [
        ({"authorization": {"scheme": "Basic"}}, "properties.credentials.authorization.parameter"),
        (
            {"authorization": {"scheme": "Basic", "parameter": "x", "x": 1}},
            "properties.credentials.authorization.x",
        ),
        ({"header": {"Host": ["x"]}}, "properties.credentials.header.Host"),
        ({"header": {"a": "b"}}, "properties.credentials.header.a"),
        ({"query": {"a": [1]}}, "properties.credentials.query.a"),
    ]:
        refused = _api(mgmt, f"{uid}-bad", backend, credentials)
        assert refused.status_code == 400 and error_code(refused) == "InvalidRequestBody", credentials
        assert refused.json()["error"]["target"] == target


def test_with_a_client_certificate_over_mtls(
    gateway_host: DevHost, mtls_backend: EchoBackend, client_certs: dict[str, Issued], uid: str
) -> None:
    """Credentials travel with the bound certificate; the echo shows exactly ours."""
    gw = Management(gateway_host.url)
    _named_value(gw, f"{uid}-k", API_KEY)
    upload = gw.upload(f"c-{uid}", pfx_cryptography(client_certs["rsa"], "pw"), "pw")
    assert upload.status_code == 201, upload.text
    credentials = {
        "certificateId": f"c-{uid}",
        "authorization": {"scheme": "Bearer", "parameter": f"{{{{{uid}-k}}}}"},
        "header": {"X-Tenant": ["contoso"]},
        "query": {"key": [f"{{{{{uid}-k}}}}"]},
    }
    assert _api(gw, uid, mtls_backend.url + "/api", credentials).status_code == 201
    headers = {"Authorization": "Bearer client", "x-tenant": "fabrikam", "X-Echo-Status": "401"}
    answer = requests.get(
        f"{gw.base}/gateway/{uid}/x", params={"key": "mine", "a": "1"}, headers=headers, timeout=10
    )
    assert answer.status_code == 401  # the backend's status comes back unchanged
    seen = answer.json()
    assert seen["client_cert"]["thumbprint"] == client_certs["rsa"].thumbprint
    sent = [(k.lower(), v) for k, v in seen["headers"]]
    assert [v for k, v in sent if k == "authorization"] == [f"Bearer {API_KEY}"]
    assert [v for k, v in sent if k == "x-tenant"] == ["contoso"]
    assert seen["query"] == f"a=1&key={API_KEY}"
