"""The gateway's backend exchange against real mTLS backends that misbehave on purpose: each
finding of the adversarial probe (issue 8: F2, F4, F5, F7, F8, F18) as a test, with its twin
where a well-behaved backend must pass. Through the Forwarder itself, on a real Azurite."""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared.bodies import parse_upload
from shared.config import load_settings
from shared.errors import BackendTimeout, BackendUnreachable, CertgateError, PayloadTooLarge
from shared.gateway.forwarding import GatewayRequest
from shared.models import ApiSpec
from shared.services import Services, build_services
from tests.conftest import unique_prefix
from tests.services import Azurite, app_environment
from tests.support.pki import CA, pfx_cryptography
from tests.support.scripted_backend import Answer, ScriptedBackend
from tests.support.tls_backends import EchoBackend

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[CA, Path]:
    root = CA.new("forwarding root", "ec")
    path = tmp_path_factory.mktemp("trust") / "root.pem"
    root.write_pem(path)
    return root, path


@pytest.fixture
def gateway(azurite: Azurite, pki: tuple[CA, Path]) -> Iterator[Services]:
    root, trust = pki
    env = app_environment(
        azurite.connection_string,
        unique_prefix(),
        REQUESTS_CA_BUNDLE=str(trust),
        CERTGATE_BACKEND_TIMEOUT_SECONDS="1.5",
        CERTGATE_BACKEND_IDLE_TIMEOUT_SECONDS="1",
        CERTGATE_MAX_GATEWAY_BODY_BYTES=str(4 * 1024 * 1024),
    )
    services = build_services(load_settings(env))
    services.provisioner.ensure()
    client = root.issue_client("forwarding client", kind="ec")
    data = base64.b64encode(pfx_cryptography(client, "pw")).decode()
    services.certificates.upload("fwd", parse_upload({"properties": {"data": data, "password": "pw"}}))
    yield services
    services.forwarder.close()


def backend(gateway: Services, pki: tuple[CA, Path], script: list[Answer]) -> ScriptedBackend:
    root, _ = pki
    server = ScriptedBackend(root.issue_server(), root.cert_pem, script)
    gateway.apis.put("api", ApiSpec("", "svc", server.url, "fwd"))
    return server


def call(
    gateway: Services,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    body: Iterable[bytes] | None = None,
    length: int | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    request = GatewayRequest(method, "/gateway/svc/x", "", "https", "gw.test", headers or [], body, length)
    answer = gateway.forwarder.forward(request)
    return answer.status, answer.headers, b"".join(answer.body)


def test_bytes_after_a_complete_answer_never_become_the_next_callers(gateway: Services, pki) -> None:
    smuggled = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWRONG"
    script = [Answer(OK + smuggled), Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nright")] * 5
    with backend(gateway, pki, script):
        for _ in range(5):
            assert call(gateway)[2] == b"ok"
            assert call(gateway)[2] == b"right"


def test_a_204_with_a_body_does_not_poison_the_connection(gateway: Services, pki) -> None:
    script = [Answer(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nWRONG"), Answer(OK)]
    with backend(gateway, pki, script):
        assert call(gateway)[0] == 204
        assert call(gateway)[2] == b"ok"


@pytest.mark.parametrize("status", [b"000", b"099", b"600", b"999"])
def test_a_status_outside_100_to_599_is_refused(gateway: Services, pki, status: bytes) -> None:
    with (
        backend(gateway, pki, [Answer(b"HTTP/1.1 " + status + b" X\r\nContent-Length: 0\r\n\r\n")]),
        pytest.raises(BackendUnreachable, match="not valid HTTP"),
    ):
        call(gateway)


def test_interim_answers_are_skipped_and_the_final_one_forwarded(gateway: Services, pki) -> None:
    interim = (
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
    )
    with backend(gateway, pki, [Answer(interim + OK), Answer(OK)]):
        assert call(gateway)[:1] == (200,) and call(gateway)[2] == b"ok"


def test_an_unasked_for_switch_of_protocols_is_refused(gateway: Services, pki) -> None:
    with (
        backend(gateway, pki, [Answer(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")]),
        pytest.raises(BackendUnreachable, match="switched protocols"),
    ):
        call(gateway)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n",
    ],
)
def test_framing_a_proxy_must_not_guess_at_is_refused(gateway: Services, pki, head: bytes) -> None:
    with (
        backend(gateway, pki, [Answer(head + b"ok")]),
        pytest.raises(BackendUnreachable, match="not valid HTTP"),
    ):
        call(gateway)


def test_expect_100_continue_is_not_forwarded(gateway: Services, pki) -> None:
    with backend(gateway, pki, [Answer(OK)]) as server:
        assert call(gateway, headers=[("expect", "100-continue"), ("x-kept", "1")])[0] == 200
        assert b"x-kept: 1" in server.heads[0].lower()
        assert b"expect" not in server.heads[0].lower()


def test_a_close_delimited_answer_cut_short_is_not_complete(gateway: Services, pki) -> None:
    cut = Answer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial", close=True)
    with backend(gateway, pki, [cut]):
        answer = gateway.forwarder.forward(
            GatewayRequest("GET", "/gateway/svc", "", "https", "h", [], None, None)
        )
        with pytest.raises(BackendUnreachable, match="incomplete"):
            b"".join(answer.body)


def test_a_close_delimited_answer_ended_with_close_notify_is_complete(gateway: Services, pki) -> None:
    whole = Answer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", close_notify=True)
    with backend(gateway, pki, [whole]):
        assert call(gateway)[2] == b"all of it"


def test_an_early_413_with_close_is_forwarded_not_blamed_on_tls(gateway: Services, pki) -> None:
    refusal = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!"
    body = [b"x" * 65536] * 48  # 3 MiB: far more than the socket buffers hold
    with backend(gateway, pki, [Answer(refusal, early=True)]):
        status, _, data = call(gateway, "PUT", body=body, length=65536 * 48)
    assert (status, data) == (413, b"too big!")


def _endless(piece: bytes) -> Iterator[bytes]:
    return itertools.repeat(piece, 10_000)  # bounded: ends long after the deadline cut it


@pytest.mark.parametrize(
    "drip",
    [
        Answer(_endless(b"HTTP/1.1 102 Processing\r\n\r\n"), pause=0.2),
        Answer(iter([bytes([b]) for b in OK]), pause=0.3),  # a head a byte at a time: 5 s
    ],
    ids=["endless-1xx", "byte-at-a-time"],
)
def test_the_backend_timeout_is_a_deadline_to_the_last_header_byte(gateway: Services, pki, drip) -> None:
    with backend(gateway, pki, [drip]):
        started = time.monotonic()
        with pytest.raises(BackendTimeout):
            call(gateway)
        assert time.monotonic() - started < 1.5 + 1.0


def test_a_flood_of_interim_answers_is_refused(gateway: Services, pki) -> None:
    with (
        backend(gateway, pki, [Answer(_endless(b"HTTP/1.1 102 Processing\r\n\r\n"), pause=0.01)]),
        pytest.raises(BackendUnreachable, match="more than 16 interim"),
    ):
        call(gateway)


def test_endless_trailers_are_cut_by_the_idle_limit(gateway: Services, pki) -> None:
    head = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"]
    with backend(gateway, pki, [Answer(itertools.chain(head, _endless(b"X-T: 1\r\n")), pause=0.05)]):
        answer = gateway.forwarder.forward(
            GatewayRequest("GET", "/gateway/svc", "", "https", "h", [], None, None)
        )
        started = time.monotonic()
        with pytest.raises(CertgateError):
            b"".join(answer.body)
        assert time.monotonic() - started < 1 + 1.0


def test_a_slow_body_within_the_idle_limit_streams(gateway: Services, pki) -> None:
    pieces = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"] + [b"1\r\na\r\n"] * 6 + [b"0\r\n\r\n"]
    with backend(gateway, pki, [Answer(iter(pieces), pause=0.4)]):  # 3 s in all, 0.4 s apart
        assert call(gateway)[2] == b"a" * 6


def echo(gateway: Services, pki: tuple[CA, Path]) -> EchoBackend:
    root, _ = pki
    server = EchoBackend(root.issue_server(), [root.cert_pem])
    gateway.apis.put("api", ApiSpec("", "svc", server.url, "fwd"))
    return server


def test_a_chunked_request_body_over_the_limit_is_refused_and_not_completed(gateway: Services, pki) -> None:
    with echo(gateway, pki) as server:
        with pytest.raises(PayloadTooLarge):
            call(gateway, "POST", body=[b"x" * 1024 * 1024] * 5)  # 5 MiB, chunked, limit 4 MiB
        assert server.requests == 0  # the backend never got a whole request: it was cut off
        # twin: under the limit, chunked, the body arrives whole
        status, _, data = call(gateway, "POST", body=[b"y" * 1024 * 1024] * 3)
        assert status == 200 and server.requests == 1
    assert json.loads(data)["body_len"] == 3 * 1024 * 1024


def test_repeated_response_headers_and_cookies_come_back_line_by_line(gateway: Services, pki) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=b/c+d==; Path=/\r\nSet-Cookie: p=1; Secure; Partitioned\r\n"
        b"X-Many: 1\r\nX-Many: 2\r\nContent-Length: 2\r\n\r\nok"
    )
    with backend(gateway, pki, [Answer(raw)]):
        _, headers, _ = call(gateway)
    assert [v for n, v in headers if n.lower() == "set-cookie"] == [
        "a=b/c+d==; Path=/",
        "p=1; Secure; Partitioned",
    ]
    assert [v for n, v in headers if n.lower() == "x-many"] == ["1", "2"]


def test_concurrent_calls_each_read_their_own_answer(gateway: Services, pki) -> None:
    """A connection goes back to the pool only when its answer was read to the end."""
    with echo(gateway, pki) as server:

        def one(n: int) -> bool:
            answer = gateway.forwarder.forward(
                GatewayRequest("GET", f"/gateway/svc/{n}", "", "https", "h", [], None, None)
            )
            time.sleep(0.01)  # hold the answer unread a moment, as a slow client would
            return json.loads(b"".join(answer.body))["path"] == f"/{n}"

        with ThreadPoolExecutor(max_workers=16) as pool:
            assert all(pool.map(one, range(300)))
        assert server.handshakes <= 16


def _slow_body(gap: float) -> Iterator[bytes]:
    for _ in range(4):
        yield b"s" * 1000
        time.sleep(gap)


def test_an_upload_slower_than_the_backend_timeout_goes_through_while_it_progresses(
    gateway: Services, pki
) -> None:
    """The head's deadline (1.5 s) starts once the request is sent; while the body is being
    sent, each wait for the client is bounded by the idle limit (1 s) instead."""
    with echo(gateway, pki):
        started = time.monotonic()
        status, _, data = call(gateway, "POST", body=_slow_body(0.7), length=4000)
        assert time.monotonic() - started > 2.5 and status == 200
        assert json.loads(data)["body_len"] == 4000


def test_an_upload_that_stalls_past_the_idle_limit_is_cut(gateway: Services, pki) -> None:
    with echo(gateway, pki) as server, pytest.raises(BackendTimeout):
        call(gateway, "POST", body=_slow_body(2.0), length=4000)
    assert server.requests == 0
