import pytest

from shared.errors import InvalidPath
from shared.gateway.headers import for_the_worker, request_headers, response_headers
from shared.gateway.routing import backend_url, candidate_paths, parse_gateway_url, strip_code


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
    ],
)
def test_dot_segments_refused(path: str) -> None:
    with pytest.raises(InvalidPath):
        parse_gateway_url("http://h" + path)


def test_dots_inside_names_pass() -> None:
    assert parse_gateway_url("http://h/gateway/a/..b/c.d").segments == ("a", "..b", "c.d")


@pytest.mark.parametrize(
    ("query", "expected"),
    [("code=k", ""), ("a=1&code=k&b=2", "a=1&b=2"), ("codex=1&c%6Fde=2", "codex=1"), ("a=%26&b", "a=%26&b")],
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
    assert names == ["x-forwarded-for", "x-custom", "x-forwarded-proto", "x-forwarded-host"]
    assert dict(out)["X-Forwarded-Proto"] == "https"
    assert dict(out)["X-Forwarded-Host"] == "gw.example"
    assert dict(out)["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"


def test_response_headers_keep_end_to_end_and_duplicates() -> None:
    out = response_headers(
        [
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "9"),
            ("Content-Encoding", "gzip"),
        ]
    )
    assert out == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Content-Encoding", "gzip")]


def test_headers_for_the_worker_join_repeats_and_keep_cookies_apart() -> None:
    headers, cookies = for_the_worker(
        [
            ("Cache-Control", "no-cache"),
            ("Set-Cookie", "a=1; Path=/"),
            ("cache-control", "no-store"),
            ("Set-Cookie", "b=2, c"),
            ("X-One", "1"),
        ]
    )
    assert headers == {"Cache-Control": "no-cache, no-store", "X-One": "1"}
    assert cookies == [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2, c")]
