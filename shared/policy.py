"""The API's policy document, rendered as APIM's rawxml format. Pure."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from shared.models import Api, BackendCredentials


def render_policy(api: Api) -> str:
    """`<policies>` with the backend and, when bound, `<authentication-certificate>` inbound."""
    inbound = ["    <base />", f"    <set-backend-service base-url={quoteattr(api.spec.service_url)} />"]
    if api.spec.certificate_id is not None:
        inbound.append(
            f"    <authentication-certificate certificate-id={quoteattr(api.spec.certificate_id)} />"
        )
    inbound += _credential_lines(api.spec.backend_credentials)
    lines = [
        "<policies>",
        "  <inbound>",
        *inbound,
        "  </inbound>",
        "  <backend>",
        "    <base />",
        "  </backend>",
        "  <outbound>",
        "    <base />",
        "  </outbound>",
        "  <on-error>",
        "    <base />",
        "  </on-error>",
        "</policies>",
    ]
    return "\n".join(lines)


def _credential_lines(credentials: BackendCredentials) -> list[str]:
    """As APIM writes a Backend's credentials into policy; values as stored, so a named value
    appears as `{{name}}` and a secret value never appears."""
    lines = []
    auth = credentials.authorization
    if auth is not None:
        basic = _basic_pair(auth.parameter) if auth.scheme.lower() == "basic" else None
        if basic is not None:
            username, password = basic
            lines.append(
                f"    <authentication-basic username={quoteattr(username)} password={quoteattr(password)} />"
            )
        else:
            lines += _set("header", "Authorization", [f"{auth.scheme} {auth.parameter}"])
    for name, values in credentials.header:
        lines += _set("header", name, list(values))
    for name, values in credentials.query:
        lines += _set("query-parameter", name, list(values))
    return lines


def _basic_pair(parameter: str) -> tuple[str, str] | None:
    """(username, password) of a literal base64 `user:password`; None for a named value (its
    value is not shown) or anything else, which is written as a set-header instead."""
    try:
        decoded = base64.b64decode(parameter, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _set(kind: str, name: str, values: list[str]) -> list[str]:
    return [
        f'    <set-{kind} name={quoteattr(name)} exists-action="override">',
        *(f"      <value>{escape(v)}</value>" for v in values),
        f"    </set-{kind}>",
    ]


def policy_resource(api: Api) -> dict[str, Any]:
    return {
        "id": f"/apis/{api.id}/policies/policy",
        "name": "policy",
        "type": "policies",
        "properties": {"format": "rawxml", "value": render_policy(api)},
    }
