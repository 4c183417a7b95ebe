"""The API's policy document, rendered as APIM's rawxml format. Pure."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

from shared.models import Api


def render_policy(api: Api) -> str:
    """`<policies>` with the backend and, when bound, `<authentication-certificate>` inbound."""
    inbound = ["    <base />", f"    <set-backend-service base-url={quoteattr(api.spec.service_url)} />"]
    if api.spec.certificate_id is not None:
        inbound.append(
            f"    <authentication-certificate certificate-id={quoteattr(api.spec.certificate_id)} />"
        )
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


def policy_resource(api: Api) -> dict[str, Any]:
    return {
        "id": f"/apis/{api.id}/policies/policy",
        "name": "policy",
        "type": "policies",
        "properties": {"format": "rawxml", "value": render_policy(api)},
    }
