"""The pipeline client against the local host: upload from a path with the password from the
environment, bind, list, refusals with a non-zero exit and the contract's message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.services import PROJECT, DevHost
from tests.support.pki import Issued, pfx_openssl


def cli(host: DevHost, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CERTGATE_URL": host.url}
    if password is not None:
        env["PFX_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "certgate_cli", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pipeline_round_trip(devhost: DevHost, client_rsa: Issued, tmp_path: Path, uid: str) -> None:
    pfx = tmp_path / "client.pfx"
    pfx.write_bytes(pfx_openssl(client_rsa, "pipeline-secret", tmp_path))
    first = cli(devhost, "upload", "--id", uid, "--pfx", str(pfx), password="pipeline-secret")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["properties"]["thumbprint"] == client_rsa.thumbprint
    assert "pipeline-secret" not in first.stdout + first.stderr
    again = cli(devhost, "upload", "--id", uid, "--pfx", str(pfx), password="pipeline-secret")
    assert again.returncode == 0 and json.loads(again.stdout) == json.loads(first.stdout)

    bound = cli(
        devhost,
        "bind-api",
        "--id",
        uid,
        "--path",
        f"cli/{uid}",
        "--service-url",
        "https://backend.example/api",
        "--certificate",
        uid,
    )
    assert bound.returncode == 0, bound.stderr
    assert json.loads(bound.stdout)["properties"]["credentials"] == {"certificateId": uid}
    listed = json.loads(cli(devhost, "list-apis").stdout)
    assert uid in [a["name"] for a in listed["value"]]
    policy = json.loads(cli(devhost, "policy", "--id", uid).stdout)
    assert f'certificate-id="{uid}"' in policy["properties"]["value"]

    refused = cli(devhost, "delete-certificate", "--id", uid)
    assert refused.returncode == 1
    error = json.loads(refused.stderr)["error"]
    assert error["code"] == "CertificateInUse" and uid in error["message"]
    assert cli(devhost, "delete-api", "--id", uid).returncode == 0
    assert cli(devhost, "delete-certificate", "--id", uid).returncode == 0


def test_refusals_exit_non_zero(devhost: DevHost, client_rsa: Issued, tmp_path: Path, uid: str) -> None:
    pfx = tmp_path / "client.pfx"
    pfx.write_bytes(pfx_openssl(client_rsa, "right", tmp_path))
    wrong = cli(devhost, "upload", "--id", uid, "--pfx", str(pfx), password="wrong")
    assert wrong.returncode == 1
    assert json.loads(wrong.stderr)["error"]["code"] == "InvalidPassword"
    unset = cli(devhost, "upload", "--id", uid, "--pfx", str(pfx))
    assert unset.returncode == 1 and "PFX_PASSWORD" in unset.stderr
    missing = cli(devhost, "get-certificate", "--id", uid)
    assert missing.returncode == 1 and json.loads(missing.stderr)["error"]["code"] == "ResourceNotFound"
