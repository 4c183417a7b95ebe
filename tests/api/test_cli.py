"""The pipeline client against the local host, as the installed `certgate` command run outside
the repository: upload from a path with the password from the environment, bind, list,
refusals with a non-zero exit and the contract's whole error, a closed pipe ends it quietly;
CA certificates from a PEM or DER file, named values with the value from the environment (a secret
one never printed), an API's credentials and TLS options, `--filter` passed through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from tests.api.client import Management
from tests.services import PROJECT, DevHost
from tests.support.pki import CA, Issued, pfx_openssl
from tests.support.tls_backends import EchoBackend

# The console script that `scripts/setup` installs into the venv (pip install -e . --no-deps).
CERTGATE = Path(sys.executable).parent / "certgate"


def cli(
    host: DevHost,
    *args: str,
    password: str | None = None,
    cwd: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    assert CERTGATE.exists(), f"{CERTGATE} is missing: run scripts/setup"
    env = {**os.environ, "CERTGATE_URL": host.url, **(extra_env or {})}
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


def ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def refusal(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 1 and result.stdout == "", result.stdout
    error: dict[str, Any] = json.loads(result.stderr)["error"]
    return error


def test_ca_certificates_and_tls_options(devhost: DevHost, tmp_path: Path, uid: str) -> None:
    corp = CA.new(f"cli root {uid}", "ec")
    pem, der = tmp_path / "ca.pem", tmp_path / "ca.der"
    pem.write_bytes(corp.cert_pem)
    der.write_bytes(corp.cert.public_bytes(Encoding.DER))
    ca_id = f"ca-{uid}"
    created = ok(cli(devhost, "upload-ca", "--id", ca_id, "--file", str(pem)))
    assert created["type"] == "caCertificates" and created["properties"]["isCa"] is True
    assert created["properties"]["subject"] == corp.cert.subject.rfc4514_string()
    assert ok(cli(devhost, "upload-ca", "--id", ca_id, "--file", str(der))) == created  # same, as DER
    assert ok(cli(devhost, "get-ca", "--id", ca_id)) == created
    listed = ok(cli(devhost, "list-cas", "--filter", f"name eq '{ca_id}'"))
    assert listed["count"] == 1 and [c["name"] for c in listed["value"]] == [ca_id]
    thumbprint = created["properties"]["thumbprint"]
    assert ok(cli(devhost, "list-cas", "--filter", f"thumbprint eq '{thumbprint}'"))["count"] == 1

    bound = ok(
        cli(
            devhost,
            "bind-api",
            "--id",
            uid,
            "--path",
            f"cli/{uid}",
            "--service-url",
            "https://10.0.0.1/api",
            "--ca-certificate",
            ca_id,
            "--pin",
            "3a1f" * 10,
            "--pin",
            "b2" * 32,
            "--server-name",
            "orders.internal.example",
            "--no-validate-chain",
        )
    )
    tls = bound["properties"]["tls"]
    assert tls["caCertificateIds"] == [ca_id] and tls["serverName"] == "orders.internal.example"
    assert len(tls["serverCertificateThumbprints"]) == 2
    assert tls["validateCertificateChain"] is False and tls["validateCertificateName"] is True
    assert "credentials" not in bound["properties"]

    error = refusal(cli(devhost, "delete-ca", "--id", ca_id))
    assert error["code"] == "CertificateInUse" and error["status"] == 409 and error["message"]
    assert error["target"] == ca_id
    assert [(d["code"], d["target"]) for d in error["details"]] == [("CertificateInUse", uid)]
    assert ok(cli(devhost, "delete-api", "--id", uid))["deleted"] is True
    assert ok(cli(devhost, "delete-ca", "--id", ca_id))["deleted"] is True
    assert refusal(cli(devhost, "get-ca", "--id", ca_id))["code"] == "ResourceNotFound"
    unknown = refusal(
        cli(
            devhost,
            "bind-api",
            "--id",
            uid,
            "--path",
            f"cli/{uid}",
            "--service-url",
            "https://backend.example",
            "--ca-certificate",
            ca_id,
        )
    )
    assert unknown["code"] == "CertificateNotFound" and unknown["status"] == 400


def test_named_values_and_credentials(devhost: DevHost, uid: str) -> None:
    secret = f"s3cret-{uid}-value"
    nv, plain = f"{uid}-basic", f"{uid}-key"
    created = ok(
        cli(
            devhost,
            "set-named-value",
            "--id",
            nv,
            "--display-name",
            "Orders basic",
            "--secret",
            "--tag",
            "orders",
            "--tag",
            "prod",
            extra_env={"NAMED_VALUE": secret},
        )
    )
    props = created["properties"]
    assert props["secret"] is True and "value" not in props and props["displayName"] == "Orders basic"
    assert props["tags"] == ["orders", "prod"]
    shown = cli(devhost, "get-named-value", "--id", nv)
    listed = cli(devhost, "list-named-values", "--filter", f"startswith(name,'{uid}-')")
    for result in (shown, listed):
        assert result.returncode == 0 and secret not in result.stdout + result.stderr
    assert ok(shown) == created
    assert [v["name"] for v in ok(listed)["value"]] == [nv]

    other = ok(
        cli(
            devhost,
            "set-named-value",
            "--id",
            plain,
            "--value-env",
            "ORDERS_KEY",
            extra_env={"ORDERS_KEY": "k-123", "NAMED_VALUE": "not this one"},
        )
    )
    assert other["properties"]["value"] == "k-123" and other["properties"]["secret"] is False
    assert ok(cli(devhost, "list-named-values", "--filter", f"startswith(name,'{uid}-')"))["count"] == 2
    unset = cli(devhost, "set-named-value", "--id", plain, "--value-env", f"UNSET_{uid.replace('-', '_')}")
    assert refusal(unset)["code"] == "MissingValue"

    bind = ["bind-api", "--id", uid, "--path", f"cli/{uid}", "--service-url", "https://backend.example"]
    bound = ok(
        cli(
            devhost,
            *bind,
            "--basic-from-named-value",
            nv,
            "--header",
            f"x-api-key={{{{{plain}}}}}",
            "--header",
            "x-tag=a",
            "--header",
            "x-tag=b=c",
            "--query",
            "sv=2024-01-01",
        )
    )
    assert bound["properties"]["credentials"] == {
        "authorization": {"scheme": "Basic", "parameter": f"{{{{{nv}}}}}"},
        "header": {"x-api-key": [f"{{{{{plain}}}}}"], "x-tag": ["a", "b=c"]},
        "query": {"sv": ["2024-01-01"]},
    }
    policy = cli(devhost, "policy", "--id", uid)
    assert policy.returncode == 0 and secret not in policy.stdout and f"{{{{{nv}}}}}" in policy.stdout

    error = refusal(cli(devhost, "delete-named-value", "--id", nv))
    assert error["code"] == "NamedValueInUse" and error["status"] == 409 and error["target"] == nv
    assert error["message"] and error["details"] == [
        {"code": "NamedValueInUse", "message": f"API '{uid}' refers to it.", "target": uid}
    ]
    replaced = ok(cli(devhost, *bind, "--authorization", "Bearer", f"{{{{{plain}}}}}"))
    assert replaced["properties"]["credentials"] == {
        "authorization": {"scheme": "Bearer", "parameter": f"{{{{{plain}}}}}"}
    }
    assert ok(cli(devhost, "delete-named-value", "--id", nv))["deleted"] is True  # no longer used
    missing = refusal(cli(devhost, *bind, "--basic-from-named-value", f"{uid}-nope"))
    assert missing["code"] == "NamedValueNotFound" and missing["status"] == 400
    assert ok(cli(devhost, "delete-api", "--id", uid))["deleted"] is True
    assert ok(cli(devhost, "delete-named-value", "--id", plain))["deleted"] is True
    assert refusal(cli(devhost, "get-named-value", "--id", plain))["code"] == "ResourceNotFound"


def test_malformed_options_are_usage_errors(devhost: DevHost, uid: str) -> None:
    bind = ["bind-api", "--id", uid, "--path", f"cli/{uid}", "--service-url", "https://backend.example"]
    bad_header = cli(devhost, *bind, "--header", "no-equals-sign")
    assert bad_header.returncode == 2 and "NAME=VALUE" in bad_header.stderr
    both = cli(devhost, *bind, "--basic-from-named-value", "x", "--authorization", "Bearer", "t")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    assert refusal(cli(devhost, "get-api", "--id", uid))["code"] == "ResourceNotFound"  # nothing written


def test_test_api_exits_on_the_reports_verdict(devhost: DevHost, tmp_path: Path, uid: str) -> None:
    private = CA.new(f"cli test root {uid}", "ec")
    pem = tmp_path / "ca.pem"
    pem.write_bytes(private.cert_pem)
    ca_id = f"ca-{uid}"
    ok(cli(devhost, "upload-ca", "--id", ca_id, "--file", str(pem)))
    with EchoBackend(private.issue_server(), None) as backend:
        bind = ["bind-api", "--id", uid, "--path", f"cli/{uid}", "--service-url", backend.url]
        ok(cli(devhost, *bind, "--ca-certificate", ca_id))
        passed = cli(devhost, "test-api", "--id", uid, "--method", "GET", "--path", "/health")
        report = ok(passed)
        assert report["ok"] is True, report
        assert [step["name"] for step in report["steps"]] == ["dns", "tcp", "tls", "http"]
        ok(cli(devhost, *bind))  # the process-wide store does not trust the private root
        failed = cli(devhost, "test-api", "--id", uid)
        assert failed.returncode == 1 and failed.stderr == ""
        report = json.loads(failed.stdout)  # the report is printed all the same
        assert report["ok"] is False and report["steps"][-1]["name"] == "tls", report
        assert report["steps"][-1]["ok"] is False
    missing = refusal(cli(devhost, "test-api", "--id", f"{uid}-nope"))
    assert missing["code"] == "ResourceNotFound" and missing["status"] == 404
    ok(cli(devhost, "delete-api", "--id", uid))
    ok(cli(devhost, "delete-ca", "--id", ca_id))
