"""`certgate COMMAND ...` (or `python -m certgate_cli`) — the management API from a pipeline step.

The service URL and master key (management is admin level) come from CERTGATE_URL and
CERTGATE_KEY (or --url / --key-env);
the PFX password from the environment variable named by --password-env, and a named value's
value from the one named by --value-env, never the command line.
Output is JSON on stdout; a refusal prints the contract's whole error (code, message, target,
details, and the HTTP status) on stderr and exits 1. A reader that goes away (`| head -1`) ends
it quietly with 141, as SIGPIPE ends other tools.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from certgate_cli.client import ManagementClient, Refused

# resource collection -> (the list command's noun, the get/delete commands' noun)
KINDS = {
    "certificates": ("certificates", "certificate"),
    "apis": ("apis", "api"),
    "caCertificates": ("cas", "ca"),
    "namedValues": ("named-values", "named-value"),
}
_BY_PLURAL = {plural: kind for kind, (plural, _) in KINDS.items()}
_BY_SINGLE = {single: kind for kind, (_, single) in KINDS.items()}


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _values(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


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
    auth = bind.add_mutually_exclusive_group()
    auth.add_argument(
        "--basic-from-named-value", metavar="NAME", help="Authorization: Basic {{NAME}} (a named value)"
    )
    auth.add_argument("--authorization", nargs=2, metavar=("SCHEME", "PARAM"), help="Authorization header")
    bind.add_argument("--header", action="append", type=_pair, default=[], metavar="NAME=VALUE")
    bind.add_argument("--query", action="append", type=_pair, default=[], metavar="NAME=VALUE")
    bind.add_argument("--ca-certificate", action="append", default=[], metavar="ID", help="trust only these")
    bind.add_argument(
        "--pin", action="append", default=[], metavar="THUMBPRINT", help="server certificate pin"
    )
    bind.add_argument("--server-name", help="SNI and the name checked instead of the serviceUrl host")
    test = sub.add_parser("test-api", help="dry run against the backend; exit 1 unless the report is ok")
    test.add_argument("--id", required=True)
    test.add_argument("--method", help="default HEAD")
    test.add_argument("--path", help="default the serviceUrl itself")
    ca = sub.add_parser("upload-ca", help="upload or replace a CA certificate from a PEM or DER file")
    ca.add_argument("--id", required=True)
    ca.add_argument("--file", required=True, type=Path)
    nv = sub.add_parser("set-named-value", help="create or replace a named value")
    nv.add_argument("--id", required=True)
    nv.add_argument("--display-name")
    nv.add_argument("--secret", action="store_true")
    nv.add_argument("--tag", action="append", default=[], dest="tags")
    nv.add_argument("--value-env", default="NAMED_VALUE", help="variable holding the value")
    for kind, (plural, single) in KINDS.items():
        listing = sub.add_parser(f"list-{plural}", help=f"list all {kind}")
        listing.add_argument("--filter", help="OData $filter, passed through")
        for verb in ("get", "delete"):
            one = sub.add_parser(f"{verb}-{single}", help=f"{verb} one of the {kind}")
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
        return client.put_api(args.id, _api_properties(args))
    if command == "test-api":
        body = {k: v for k, v in (("method", args.method), ("path", args.path)) if v is not None}
        return client.test_api(args.id, body)
    if command == "upload-ca":
        return client.put(
            "caCertificates", args.id, {"data": base64.b64encode(args.file.read_bytes()).decode()}
        )
    if command == "set-named-value":
        value = os.environ.get(args.value_env)
        if value is None:
            raise Refused(0, "MissingValue", f"environment variable {args.value_env} is not set")
        props: dict[str, Any] = {"displayName": args.display_name or args.id, "value": value}
        props["secret"] = args.secret
        if args.tags:
            props["tags"] = args.tags
        return _without_secret(client.put("namedValues", args.id, props))
    if command.startswith("list-"):
        items = list(client.list_all(_BY_PLURAL[command[5:]], args.filter))
        return {"value": [_without_secret(i) for i in items], "count": len(items)}
    if command == "policy":
        return client.policy(args.id)
    verb, noun = command.split("-", 1)
    kind = _BY_SINGLE[noun]
    return _without_secret(client.get(kind, args.id)) if verb == "get" else client.delete(kind, args.id)


def _api_properties(args: argparse.Namespace) -> dict[str, Any]:
    tls: dict[str, Any] = {
        "validateCertificateChain": not args.no_validate_chain,
        "validateCertificateName": not args.no_validate_name,
    }
    if args.ca_certificate:
        tls["caCertificateIds"] = args.ca_certificate
    if args.pin:
        tls["serverCertificateThumbprints"] = args.pin
    if args.server_name:
        tls["serverName"] = args.server_name
    credentials: dict[str, Any] = {}
    if args.certificate:
        credentials["certificateId"] = args.certificate
    if args.basic_from_named_value:
        credentials["authorization"] = {
            "scheme": "Basic",
            "parameter": f"{{{{{args.basic_from_named_value}}}}}",
        }
    elif args.authorization:
        scheme, parameter = args.authorization
        credentials["authorization"] = {"scheme": scheme, "parameter": parameter}
    if args.header:
        credentials["header"] = _values(args.header)
    if args.query:
        credentials["query"] = _values(args.query)
    props: dict[str, Any] = {
        "displayName": args.display_name or args.id,
        "path": args.path,
        "serviceUrl": args.service_url,
        "tls": tls,
    }
    if credentials:
        props["credentials"] = credentials
    return props


def _without_secret(resource: dict[str, Any]) -> dict[str, Any]:
    """A secret named value's value is never printed, whatever the service answers."""
    props = resource.get("properties")
    if isinstance(props, dict) and props.get("secret") is True and "value" in props:
        return {**resource, "properties": {k: v for k, v in props.items() if k != "value"}}
    return resource


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
    if args.command == "test-api" and result.get("ok") is not True:
        return 1  # the report is printed; a failed dry run fails the pipeline step
    return 0


def _fail(error: dict[str, Any]) -> None:
    sys.stderr.write(json.dumps({"error": error}) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
