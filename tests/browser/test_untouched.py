"""Nothing untouched changes (docs/portal.md): saving an API's Security or Settings tab, or a
named value, without editing a field sends back what was stored, as it was stored."""

from __future__ import annotations

import base64
from typing import Any

from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import Portal, PortalPki, b64, new_id
from tests.support.pki import CA, pfx_cryptography


def put(admin: Management, path: str, properties: dict[str, Any]) -> dict[str, Any]:
    answer = admin.session.put(f"{admin.base}/management/{path}", json={"properties": properties}, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json()["properties"])


def test_untouched_api_saves_unchanged(portal: Portal, admin: Management, portal_pki: PortalPki) -> None:
    n = new_id()
    leaf = portal_pki.client_root.issue_client(f"untouched {n}", kind="ec")
    assert admin.upload(f"ut-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    for ca in (f"ut-z-{n}", f"ut-a-{n}"):  # stored in this order, not the list's
        put(admin, f"caCertificates/{ca}", {"data": b64(CA.new(f"{ca} root", "ec").cert_pem)})
    basic = base64.b64encode(f"user-{n}:pw".encode()).decode().rstrip("=")  # unpadded, lower-case scheme
    stored = put(
        admin,
        f"apis/ut-{n}",
        {
            "displayName": f"Untouched {n} ",
            "path": f"ut{n}",
            "serviceUrl": "https://untouched.example/base",
            "credentials": {
                "certificateId": f"ut-{n}",
                "authorization": {"scheme": "basic", "parameter": basic},
                "header": {"x-one": ["1", "2"]},
                "query": {"sv": ["2024-01-01"]},
            },
            "tls": {
                "validateCertificateChain": True,
                "validateCertificateName": False,
                "caCertificateIds": [f"ut-z-{n}", f"ut-a-{n}"],
                "serverCertificateThumbprints": ["AB" * 20],
                "serverName": "untouched.internal",
            },
        },
    )
    portal.signed_in()
    portal.open_api(f"ut-{n}", f"Untouched {n} ".strip())
    panel = portal.tab("Security")
    expect(panel.get_by_label("With credentials")).to_have_value("several")
    portal.save_security(panel)
    assert admin.get(f"/management/apis/ut-{n}").json()["properties"] == stored
    settings = portal.tab("Settings")
    portal.expect_write("PUT", f"/apis/ut-{n}", portal.button("Save", settings).click, ok=(200,))
    assert admin.get(f"/management/apis/ut-{n}").json()["properties"] == stored


def test_untouched_named_value_saves_unchanged(portal: Portal, admin: Management) -> None:
    n = new_id()
    stored = put(
        admin,
        f"namedValues/ut-nv-{n}",
        {"displayName": f" Spaced {n} ", "value": "plain", "secret": False, "tags": ["zeta", "alpha"]},
    )
    portal.signed_in()
    portal.go("Named values")
    portal.button("Edit", portal.row(f"ut-nv-{n}", "Named values")).click()
    form = portal.form("Named value")
    expect(form.get_by_label("Value", exact=True)).to_have_value("plain")
    portal.expect_write("PUT", f"/namedValues/ut-nv-{n}", portal.button("Save", form).click)
    assert admin.get(f"/management/namedValues/ut-nv-{n}").json()["properties"] == stored
