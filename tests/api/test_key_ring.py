"""A host whose key ring lacks the key that sealed stored certificates: /health says so (503,
key ids only), the gateway answers 500 KeyRingMismatch naming the key id; an upload under the
host's ring heals both at once."""

from __future__ import annotations

import base64
from pathlib import Path

import requests

from shared.config import load_settings
from shared.models import ApiSpec, Upload
from shared.services import build_services
from tests.api.client import Management
from tests.conftest import unique_prefix
from tests.gateway_fixtures import gateway_env
from tests.services import TEST_KEY_RING, Azurite, DevHost
from tests.support.pki import Issued, pfx_cryptography
from tests.support.tls_backends import EchoBackend

RING_B = "b1:" + base64.b64encode(b"b" * 32).decode()


def test_a_ring_without_the_sealing_key(
    azurite: Azurite,
    trust_file: Path,
    mtls_backend: EchoBackend,
    client_certs: dict[str, Issued],
    tmp_path: Path,
    uid: str,
) -> None:
    prefix = unique_prefix()
    pfx = pfx_cryptography(client_certs["rsa"], "pw")
    ring_a = build_services(load_settings(gateway_env(azurite, trust_file, prefix)))
    ring_a.provisioner.ensure()
    ring_a.certificates.upload(uid, Upload(pfx, "pw"))
    ring_a.apis.put(uid, ApiSpec("", uid, mtls_backend.url, uid))

    env = gateway_env(azurite, trust_file, prefix, CERTGATE_ENCRYPTION_KEYS=RING_B)
    host = DevHost(env, log_path=tmp_path / "ring-b.log", healthy=False)
    try:
        health = requests.get(f"{host.url}/health", timeout=30)
        assert health.status_code == 503, health.text
        report = health.json()
        assert report["status"] == "degraded" and report["storage"] == "reachable"
        assert report["keyRing"] == {"keyIds": ["b1"], "current": "b1"}
        versions = report["storedVersions"]
        assert (versions["total"], versions["openable"], versions["unopenable"]) == (1, 0, 1)
        assert versions["missingKeyIds"] == ["t1"]
        for key in (TEST_KEY_RING, RING_B):
            assert key.split(":", 1)[1] not in health.text

        call = requests.get(f"{host.url}/gateway/{uid}/x", timeout=30)
        assert call.status_code == 500, call.text
        error = call.json()["error"]
        assert error["code"] == "KeyRingMismatch" and error["target"] == uid
        assert "'t1'" in error["message"] and "CERTGATE_ENCRYPTION_KEYS" in error["message"]
        assert "b" * 8 not in call.text and "Traceback" not in call.text
        assert host.log_line("sealed under key id t1")
        assert requests.get(f"{host.url}/gateway/{uid}/again", timeout=30).status_code == 500
        host.log_line(f"api={uid} ", "error=KeyRingMismatch")
        assert host.log_text().count("sealed under key id t1") == 1  # an error once, not per call

        # the twin: an upload under this host's ring heals the gateway and /health at once
        assert Management(host.url).upload(uid, pfx, "pw").status_code == 200
        healed = requests.get(f"{host.url}/health", timeout=30)
        assert healed.status_code == 200, healed.text
        assert healed.json()["storedVersions"]["missingKeyIds"] == []
        assert requests.get(f"{host.url}/gateway/{uid}/x", timeout=30).status_code == 200
    finally:
        host.stop()
        ring_a.forwarder.close()
