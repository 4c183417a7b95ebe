from urllib.parse import urlsplit

import pytest

from shared.errors import InvalidPath, LoopDetected
from shared.gateway.headers import request_headers, response_headers
from shared.gateway.routing import (
    GatewayTarget,
    backend_url,
    candidate_paths,
    parse_gateway_target,
    strip_code,
)


def parse_gateway_url(url: str) -> GatewayTarget:
    parts = urlsplit(url)
    return parse_gateway_target(parts.path, parts.query, scheme=parts.scheme, host=parts.netloc)


def test_longest_prefix_candidates() -> None:
    target = parse_gateway_url("http://h/gateway/orders/v1/items/7?x=1")
    assert candidate_paths(target.segments) == ["orders/v1/items/7", "orders/v1/items", "orders/v1", "orders"]


@pytest.mark.parametrize(
    ("url", "api_path", "expected"),
    [
        ("http://h/gateway/orders/v1", "orders/v1", "https://b/api"),
        ("http://h/gateway/orders/v1/", "orders/v1", "https://b/api/"),
        ("http://h/gateway/orders/v1/items/7", "orders/v1", "https://b/api/items/7"),
        (
            "http://h/gateway/orders/v1/a%20b/%C3%A9?q=a+b&q=%2F&code=k&x",
            "orders/v1",
            "https://b/api/a%20b/%C3%A9?q=a+b&q=%2F&x",
        ),
        ("http://h/gateway/%6Frders/v1/x", "orders/v1", "https://b/api/x"),
    ],
)
def test_backend_url(url: str, api_path: str, expected: str) -> None:
    assert backend_url("https://b/api", api_path, parse_gateway_url(url)) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/gateway/a/../b",
        "/gateway/a/./b",
        "/gateway/a/%2e%2e/b",
        "/gateway/a/%2E/b",
        "/gateway/a/.%2e",
        "/gateway/a/%252e%252e/b",
        "/gateway/a/..%2fb",
        "/gateway/a/..%5cb",
        "/gateway/..",
        # F14: what a backend or its framework may still resolve upwards
        "/gateway/a/..;/b",
        "/gateway/a/%2e%2e;x/b",
        "/gateway/a/..%00/b",
        "/gateway/a/..%20/b",
        "/gateway/a/.../b",
        "/gateway/a/%c0%ae%c0%ae/b",  # overlong UTF-8
        "/gateway/a/%e0%80%ae%e0%80%ae/b",
        "/gateway/a/%ef%bc%8e%ef%bc%8e/b",  # fullwidth full stops
        "/gateway/a/\uff0e\uff0e/b",
        "/gateway/a/%u002e%u002e/b",  # IIS's %u escapes
        "/gateway/a/%25u002e%25u002e/b",
        "/gateway/a/%e2%80%a4%e2%80%a4/b",  # one dot leader, NFKC '.'
    ],
)
def test_dot_segments_refused(path: str) -> None:
    with pytest.raises(InvalidPath):
        parse_gateway_url("http://h" + path)


def test_dots_inside_names_pass() -> None:
    assert parse_gateway_url("http://h/gateway/a/..b/c.d").segments == ("a", "..b", "c.d")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("code=k", ""),
        ("a=1&code=k&b=2", "a=1&b=2"),
        ("codex=1&c%6Fde=2", "codex=1"),
        ("a=%26&b", "a=%26&b"),
        # F10: every spelling the Functions host takes as the key
        ("CODE=k&Code=k&cOdE=k&%63ode=k&%43%4F%44%45=k&x=1", "x=1"),
        ("code&code=", ""),
        ("co+de=1&code1=2&xcode=3", "co+de=1&code1=2&xcode=3"),
    ],
)
def test_strip_code(query: str, expected: str) -> None:
    assert strip_code(query) == expected


def test_request_headers_drop_hop_by_hop_and_key() -> None:
    incoming = [
        ("Connection", "keep-alive, X-Private"),
        ("X-Private", "1"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Upgrade", "h2c"),
        ("x-functions-key", "secret"),
        ("Host", "gw"),
        ("Content-Length", "3"),
        ("X-Forwarded-For", "10.0.0.1, 127.0.0.1"),
        ("X-Custom", "kept"),
        ("Proxy-Authorization", "x"),
        ("X-Forwarded-Proto", "spoofed"),
    ]
    out = request_headers(incoming, proto="https", host="gw.example")
    names = [n.lower() for n, _ in out]
    assert names == ["x-forwarded-for", "x-custom", "x-forwarded-proto", "x-forwarded-host", "via"]
    assert dict(out)["X-Forwarded-Proto"] == "https"
    assert dict(out)["X-Forwarded-Host"] == "gw.example"
    assert dict(out)["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"


def test_response_headers_keep_end_to_end_and_duplicates() -> None:
    incoming = [
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "9"),
        ("Content-Encoding", "gzip"),
    ]
    assert response_headers(incoming, keep_length=False) == [
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Encoding", "gzip"),
    ]
    assert ("Content-Length", "9") in response_headers(incoming, keep_length=True)


@pytest.mark.parametrize(
    "name",
    [
        "X-Original-URL",
        "X-Rewrite-URL",
        "X-HTTP-Method-Override",
        "Forwarded",
        "X-Forwarded-Prefix",
        "X-Forwarded-Port",
        "X-Real-IP",
        "Expect",
        "x-ms-invocation-id",
    ],
)
def test_request_headers_a_backend_might_trust_are_dropped(name: str) -> None:
    """F17, F8: headers that rewrite the URL, the method or the caller, set by a client."""
    out = request_headers([(name, "/admin"), ("X-Kept", "1")], proto="https", host="gw")
    assert [n for n, _ in out] == ["X-Kept", "X-Forwarded-Proto", "X-Forwarded-Host", "Via"]


def test_via_is_appended_and_a_request_that_came_through_a_gateway_is_refused() -> None:
    """F12/F15: an API whose backend is the gateway itself cannot loop."""
    out = request_headers([("Via", "1.0 fred, 1.1 p.example")], proto="https", host="gw")
    assert [v for n, v in out if n.lower() == "via"] == ["1.0 fred, 1.1 p.example", "1.1 certgate"]
    with pytest.raises(LoopDetected):
        request_headers([("Via", "1.0 fred, 1.1 certgate")], proto="https", host="gw")
