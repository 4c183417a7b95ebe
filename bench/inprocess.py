"""In-process comparison: certgate's Forwarder.forward (what the gateway function runs on its
thread) against a bare requests.Session and a bare adapter.send that carry the same SSLContext,
all calling the same backend sequentially, interleaved."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import requests


def _timed(call: Callable[[], None], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1e6)
    return out


def run_inprocess(
    env: dict[str, str],
    backend_url: str,
    *,
    total: int,
    blocks: int = 10,
    log: Any = None,
    download_path: str | None = None,
) -> dict[str, Any]:
    """`log`: the backend's AccessLog, to count new connections per side (None: not counted);
    `download_path`: a gateway path to stream once through the forwarder alone."""
    from shared.config import load_settings
    from shared.gateway.forwarding import GatewayRequest
    from shared.gateway.sessions import ContextAdapter
    from shared.gateway.tls import client_context
    from shared.models import TlsSettings
    from shared.services import build_services
    from shared.storage.errors import STORAGE_CALLS

    settings = load_settings(env)
    services = build_services(settings)
    services.provisioner.ensure()
    request = GatewayRequest(
        method="GET",
        path="/gateway/bench/x",
        query="",
        scheme="http",
        host="127.0.0.1",
        headers=[("host", "127.0.0.1")],
        body=None,
        length=None,
    )

    def forward() -> None:
        answer = services.forwarder.forward(request)
        body = b"".join(answer.body)  # read to the end: the connection goes back to its pool
        if answer.status != 200 or body != b"ok":
            raise RuntimeError(f"forwarder answered {answer.status} {body[:200]!r}")

    route = services.resolver.resolve(("bench", "x"))
    if route.certificate is None:
        raise RuntimeError("the bench API has no certificate")
    pem_bundle = services.certificates.load_material(route.certificate)
    context = client_context(pem_bundle, TlsSettings(), ca_file=settings.backend_ca_file)
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", ContextAdapter(context, pool_maxsize=8))
    url = backend_url.rstrip("/") + "/x"

    def bare() -> None:
        response = session.get(url, timeout=30)
        if response.status_code != 200 or response.content != b"ok":
            raise RuntimeError(f"bare session answered {response.status_code} {response.content[:200]!r}")

    adapter = session.get_adapter(url)
    prepared = requests.Request("GET", url).prepare()

    def bare_adapter() -> None:
        response = adapter.send(prepared, stream=True, timeout=30, verify=True, proxies={})
        try:
            body = response.raw.read(decode_content=False)
        finally:
            response.close()
        if response.status_code != 200 or body != b"ok":
            raise RuntimeError(f"bare adapter answered {response.status_code} {body[:200]!r}")

    def download(path: str) -> dict[str, Any]:
        """The streaming download through Forwarder.forward alone (no host, no worker): its
        MB/s, and the size of the pieces it hands on (each is one hop to the event loop)."""
        started = time.perf_counter()
        answer = services.forwarder.forward(request._replace(path=path))
        sizes = [len(chunk) for chunk in answer.body]
        seconds = time.perf_counter() - started
        return {
            "bytes": sum(sizes),
            "chunks": len(sizes),
            "mean_chunk_bytes": round(sum(sizes) / max(len(sizes), 1)),
            "max_chunk_bytes": max(sizes, default=0),
            "mb_per_s": round(sum(sizes) / 1048576 / seconds, 1),
        }

    calls = {"forwarder": forward, "bare_session": bare, "bare_adapter": bare_adapter}
    samples: dict[str, list[float]] = {k: [] for k in calls}
    new_connections = dict.fromkeys(calls, 0)
    try:
        for call in calls.values():
            _timed(call, 50)  # warm-up: resolve, build the pooled session, open the connection
        per_block = max(1, total // blocks)
        storage_before = STORAGE_CALLS.value
        for _ in range(blocks):
            for name, call in calls.items():
                offset = log.offset() if log is not None else 0
                samples[name] += _timed(call, per_block)
                if log is not None:
                    time.sleep(0.01)
                    new_connections[name] += log.window(offset, log.offset())["new_connections"]
        storage = STORAGE_CALLS.value - storage_before
        streamed = download(download_path) if download_path else None
    finally:
        session.close()
        services.forwarder.close()

    def summary(samples: list[float]) -> dict[str, float]:
        ordered = sorted(samples)
        return {
            "n": len(samples),
            "mean_us": statistics.fmean(samples),
            "median_us": statistics.median(samples),
            "p99_us": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        }

    out: dict[str, Any] = {
        name: {**summary(values), "new_connections": new_connections[name] if log is not None else None}
        for name, values in samples.items()
    }
    f, b, a = out["forwarder"], out["bare_session"], out["bare_adapter"]
    out.update(
        mean_ratio=f["mean_us"] / b["mean_us"],
        median_ratio=f["median_us"] / b["median_us"],
        mean_ratio_adapter=f["mean_us"] / a["mean_us"],
        overhead_mean_us=f["mean_us"] - b["mean_us"],
        forwarder_storage_calls=storage,
        download=streamed,
    )
    return out
