"""The pipeline client against the local host, as the installed `certgate` command run outside
the repository: upload from a path with the password from the environment, bind, list,
refusals with a non-zero exit and the contract's whole error, a closed pipe ends it quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.api.client import Management
from tests.services import PROJECT, DevHost
from tests.support.pki import Issued, pfx_openssl

# The console script that `scripts/setup` installs into the venv (pip install -e . --no-deps).
CERTGATE = Path(sys.executable).parent / "certgate"


def cli(
    host: DevHost, *args: str, password: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    assert CERTGATE.exists(), f"{CERTGATE} is missing: run scripts/setup"
    env = {**os.environ, "CERTGATE_URL": host.url}
    if password is not None:
        env["PFX_PASSWORD"] = password
    return subprocess.run(
        [str(CERTGATE), *args],
        cwd=cwd or Path("/"),  # not the repository: the command works from anywhere
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
    assert error["target"] == uid and error["status"] == 409  # the whole error, not code and message only
    assert error["details"] == [
        {"code": "CertificateInUse", "message": f"API '{uid}' uses this certificate.", "target": uid}
    ]
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


def test_the_module_form_still_runs_from_the_repository(devhost: DevHost) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "certgate_cli", "list-certificates"],
        cwd=PROJECT,
        env={**os.environ, "CERTGATE_URL": devhost.url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "count" in json.loads(result.stdout)


def test_a_reader_that_goes_away_ends_it_quietly(devhost: DevHost, uid: str) -> None:
    management = Management(devhost.url)
    for n in range(3):
        created = management.put_api(f"{uid}-{n}", f"pipe/{uid}/{n}", "https://backend.example")
        assert created.status_code == 201
    env = {**os.environ, "CERTGATE_URL": devhost.url}
    # `| head -1`, as a user types it: the first line, and no traceback from the writer
    piped = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"'{CERTGATE}' list-apis | head -1"],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.stdout == "{\n"
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr
    assert piped.returncode in (0, 141)  # 141 when the pipe closed before the write ended

    # a reader gone before anything is written: the write fails for certain
    process = subprocess.Popen(
        [str(CERTGATE), "list-apis"], cwd="/", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    assert process.wait(60) == 141
    assert process.stderr.read() == b""
    process.stderr.close()
