"""`certgate COMMAND ...` (or `python -m certgate_cli`) — the management API from a pipeline step.

The service URL and master key (management is admin level) come from CERTGATE_URL and
CERTGATE_KEY (or --url / --key-env);
the PFX password from the environment variable named by --password-env, never the command line.
Output is JSON on stdout; a refusal prints the contract's whole error (code, message, target,
details, and the HTTP status) on stderr and exits 1. A reader that goes away (`| head -1`) ends
it quietly with 141, as SIGPIPE ends other tools.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from certgate_cli.client import ManagementClient, Refused


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="certgate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--url", default=os.environ.get("CERTGATE_URL"), help="service base URL (CERTGATE_URL)")
    p.add_argument("--key-env", default="CERTGATE_KEY", help="variable holding the master key (admin level)")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upload", help="upload or replace a certificate from a .pfx file")
    up.add_argument("--id", required=True)
    up.add_argument("--pfx", required=True, type=Path)
    up.add_argument("--password-env", default="PFX_PASSWORD", help="variable holding the PFX password")
    bind = sub.add_parser("bind-api", help="create or replace an API bound to a certificate")
    bind.add_argument("--id", required=True)
    bind.add_argument("--path", required=True)
    bind.add_argument("--service-url", required=True)
    bind.add_argument("--certificate", help="certificate id (omit for no client certificate)")
    bind.add_argument("--display-name")
    bind.add_argument("--no-validate-chain", action="store_true")
    bind.add_argument("--no-validate-name", action="store_true")
    for kind in ("certificates", "apis"):
        sub.add_parser(f"list-{kind}", help=f"list all {kind}")
        for verb in ("get", "delete"):
            one = sub.add_parser(f"{verb}-{kind[:-1]}", help=f"{verb} one {kind[:-1]}")
            one.add_argument("--id", required=True)
    policy = sub.add_parser("policy", help="an API's policy document")
    policy.add_argument("--id", required=True)
    return p


def run(args: argparse.Namespace, client: ManagementClient) -> Any:
    command: str = args.command
    if command == "upload":
        password = os.environ.get(args.password_env)
        if password is None:
            raise Refused(0, "MissingPassword", f"environment variable {args.password_env} is not set")
        return client.upload_certificate(args.id, args.pfx.read_bytes(), password)
    if command == "bind-api":
        props: dict[str, Any] = {
            "displayName": args.display_name or args.id,
            "path": args.path,
            "serviceUrl": args.service_url,
            "tls": {
                "validateCertificateChain": not args.no_validate_chain,
                "validateCertificateName": not args.no_validate_name,
            },
        }
        if args.certificate:
            props["credentials"] = {"certificateId": args.certificate}
        return client.put_api(args.id, props)
    if command.startswith("list-"):
        items = list(client.list_all(command[5:]))
        return {"value": items, "count": len(items)}
    if command == "policy":
        return client.policy(args.id)
    verb, kind = command.split("-", 1)
    return client.get(kind + "s", args.id) if verb == "get" else client.delete(kind + "s", args.id)


BROKEN_PIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a tool that SIGPIPE ended


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _main(args)
    except BrokenPipeError:
        # The reader closed the pipe: later writes (and the flush at exit) must not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
        return BROKEN_PIPE_EXIT


def _main(args: argparse.Namespace) -> int:
    if not args.url:
        _fail({"code": "MissingUrl", "message": "set CERTGATE_URL or --url"})
        return 2
    client = ManagementClient(args.url, os.environ.get(args.key_env))
    try:
        result = run(args, client)
    except Refused as exc:
        _fail({**exc.error, "status": exc.status})
        return 1
    except OSError as exc:
        _fail({"code": "LocalError", "message": str(exc)})
        return 1
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    sys.stdout.flush()  # inside the try of main: a closed pipe is seen here, not at exit
    return 0


def _fail(error: dict[str, Any]) -> None:
    sys.stderr.write(json.dumps({"error": error}) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
