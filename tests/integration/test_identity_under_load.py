"""F1 as a load test: many certificates, rotation and session eviction under concurrent
calls, the backend reporting the client certificate it saw. A call must only ever present a
version of its own API's certificate: 0 wrong in over 20,000 calls."""

from __future__ import annotations

import base64
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.bodies import parse_upload
from shared.config import load_settings
from shared.gateway.forwarding import Forwarder, GatewayRequest
from shared.gateway.sessions import SessionPool
from shared.models import ApiSpec, Certificate
from shared.services import build_services
from tests.conftest import unique_prefix
from tests.services import Azurite, app_environment
from tests.support.nginx import NginxBackend
from tests.support.pki import CA, pfx_cryptography

CERTS = 8
HOT = 4  # most calls go to these; the others keep evicting one another (and at times a hot one)
SESSIONS = 5
VERSIONS = 3  # each certificate rotates through these, over and over
CALLS = 21_000
THREADS = 16


def test_no_call_presents_another_apis_certificate(azurite: Azurite, tmp_path: Path) -> None:
    root = CA.new("identity root", "ec")
    trust = tmp_path / "root.pem"
    root.write_pem(trust)
    env = app_environment(azurite.connection_string, unique_prefix(), REQUESTS_CA_BUNDLE=str(trust))
    settings = load_settings(env)
    services = build_services(settings)
    services.provisioner.ensure()
    versions = {
        f"c{n}": [root.issue_client(f"c{n} v{v}", kind="ec") for v in range(VERSIONS)] for n in range(CERTS)
    }
    allowed = {cert_id: {i.thumbprint for i in issued} for cert_id, issued in versions.items()}

    def upload(cert_id: str, version: int) -> None:
        data = base64.b64encode(pfx_cryptography(versions[cert_id][version], "pw")).decode()
        services.certificates.upload(cert_id, parse_upload({"properties": {"data": data, "password": "pw"}}))

    with NginxBackend(root, tmp_path) as backend:
        for cert_id in versions:
            upload(cert_id, 0)
            services.apis.put(cert_id, ApiSpec("", cert_id, backend.url, cert_id))
        builds: list[str] = []

        def load_material(cert: Certificate) -> bytes:
            builds.append(cert.id)  # one per session built
            return services.certificates.load_material(cert)

        # Fewer sessions than certificates: sessions are evicted (and closed) all the time,
        # often under a call still using them, as rotations close superseded ones.
        forwarder = Forwarder(
            services.resolver,
            SessionPool(load_material, ca_file=str(trust), max_sessions=SESSIONS),
            timeout=10,
            idle_timeout=10,
            max_body_bytes=1024,
        )
        stop = threading.Event()
        rotations = 0

        def rotate() -> None:
            nonlocal rotations
            rng = random.Random(1)
            while not stop.is_set():
                upload(f"c{rng.randrange(CERTS)}", rng.randrange(VERSIONS))
                rotations += 1
                time.sleep(0.1)

        def call(n: int) -> tuple[str, str]:
            cert_id = f"c{n % HOT}" if n % 50 else f"c{HOT + (n // 50) % (CERTS - HOT)}"
            answer = forwarder.forward(
                GatewayRequest("GET", f"/gateway/{cert_id}/{n}", "", "https", "h", [], None, None)
            )
            assert answer.status == 200
            return cert_id, b"".join(answer.body).decode().upper()  # nginx: SHA-1, lower case

        rotator = threading.Thread(target=rotate, daemon=True)
        rotator.start()
        try:
            with ThreadPoolExecutor(max_workers=THREADS) as pool:
                seen = list(pool.map(call, range(CALLS)))
        finally:
            stop.set()
            rotator.join(30)
            forwarder.close()
    wrong = [(cert_id, thumb) for cert_id, thumb in seen if thumb not in allowed[cert_id]]
    assert len(seen) == CALLS and wrong == []
    assert rotations >= 20  # the load really ran under rotation
    assert len(builds) > CERTS + 20  # and under eviction: sessions were built again and again
