"""A missing or malformed key ring stops the local host at start-up with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.services import PROJECT


@pytest.mark.parametrize(
    ("ring", "message"),
    [
        ("k1:c2hvcnQ=", "must be 32 bytes"),
        ("k1:short", "not valid base64"),
        ("no-colon", "must look like 'keyId:<base64>'"),
        ("", "is empty"),
    ],
)
def test_bad_key_ring_stops_the_host(ring: str, message: str) -> None:
    env = {**os.environ, "CERTGATE_ENCRYPTION_KEYS": ring}
    result = subprocess.run(
        [sys.executable, "-m", "devhost", "--port", "0"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "certgate cannot start" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
