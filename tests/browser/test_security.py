"""The Security tab: every credential kind set through the page reaches the backend as the
contract says and reads back after a reload; an API combining kinds (made through the API) shows
"Several" and a Save through the page keeps every kind."""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, expect

from tests.api.client import Management
from tests.browser.conftest import Portal, PortalPki, gateway_get, new_id, option_label
from tests.services import DevHost
from tests.support.pki import pfx_cryptography
from tests.support.tls_backends import EchoBackend


def selected_label(select: Locator) -> str:
    return str(select.evaluate("s => s.selectedOptions[0]?.textContent ?? ''"))


def fill_basic(panel: Locator, n: str) -> None:
    panel.get_by_label("User name", exact=True).fill(f"orders-{n}")
    panel.get_by_label("Password", exact=True).fill(f"pä55:{n}")


def fill_authorization(panel: Locator, n: str) -> None:
    panel.get_by_label("Scheme", exact=True).fill("Bearer")
    panel.get_by_label("Parameter", exact=True).fill(f"tok.{{{{tok-{n}}}}}")


def fill_header(panel: Locator, n: str) -> None:
    panel.get_by_label("Header name", exact=True).fill("x-api-key")
    panel.get_by_label("Header value", exact=True).fill(f"key-{n}")
    panel.get_by_role("button", name="Add header").click()
    panel.get_by_label("Header name 2", exact=True).fill("x-tenant")
    panel.get_by_label("Header value 2", exact=True).fill(f"tenant-{n}")


def fill_query(panel: Locator, n: str) -> None:
    panel.get_by_label("Query parameter name", exact=True).fill("sv")
    panel.get_by_label("Query parameter value", exact=True).fill(f"v-{n}")


def headers_seen(echo: dict[str, Any]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in echo["headers"]:
        seen.setdefault(name.lower(), []).append(value)
    return seen


KINDS: dict[str, Callable[[Locator, str], None]] = {
    "Basic": fill_basic,
    "Authorization": fill_authorization,
    "Header": fill_header,
    "Query": fill_query,
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_credential_kind_round_trips(
    kind: str, portal: Portal, admin: Management, portal_host: DevHost, plain_echo: EchoBackend
) -> None:
    n = new_id()
    api, path = f"sec-{kind.lower()}-{n}", f"sec{n}"
    assert (
        admin.session.put(
            f"{admin.base}/management/namedValues/tok-{n}",
            json={"properties": {"displayName": "token", "value": f"named-{n}", "secret": True}},
            timeout=30,
        ).status_code
        == 201
    )
    assert admin.put_api(api, path, f"{plain_echo.url}/b").status_code == 201
    portal.signed_in()
    portal.open_api(api)
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label=kind)
    KINDS[kind](panel, n)
    portal.save_security(panel)
    portal.shot(f"{kind.lower()}-saved")

    answer = gateway_get(portal_host, f"{path}/items?sv=client&keep=1", **{"x-api-key": "from-client"})
    assert answer.status_code == 200, answer.text
    echo, sent = answer.json(), headers_seen(answer.json())
    if kind == "Basic":
        assert sent["authorization"] == [
            "Basic " + base64.b64encode(f"orders-{n}:pä55:{n}".encode()).decode()
        ]
    elif kind == "Authorization":
        assert sent["authorization"] == [f"Bearer tok.named-{n}"]  # the named value put in place
    elif kind == "Header":
        assert sent["x-api-key"] == [f"key-{n}"]  # the client's same-named header replaced
        assert sent["x-tenant"] == [f"tenant-{n}"]
    else:
        assert echo["query"] == f"keep=1&sv=v-{n}" or sorted(echo["query"].split("&")) == [
            "keep=1",
            f"sv=v-{n}",
        ]

    # it reads back after a reload (the hash route opens the same tab)
    portal.page.reload()
    panel = portal.page.get_by_role("tabpanel", name="Security")
    expect(panel.get_by_label("With credentials")).to_be_visible()
    assert selected_label(panel.get_by_label("With credentials")) == kind
    if kind == "Basic":
        expect(panel.get_by_label("User name", exact=True)).to_have_value(f"orders-{n}")
        expect(panel.get_by_label("Password", exact=True)).to_have_value("")  # never shown back
        policy = admin.get(f"/management/apis/{api}/policy").json()["properties"]["value"]
        assert "<authentication-basic" in policy
    elif kind == "Authorization":
        expect(panel.get_by_label("Parameter", exact=True)).to_have_value(f"tok.{{{{tok-{n}}}}}")
        policy = portal.tab("Policy").get_by_role("textbox", name="Policy XML")
        expect(policy).to_have_value(re.compile(re.escape(f"{{{{tok-{n}}}}}")))
        expect(policy).not_to_have_value(re.compile(f"named-{n}"))  # the secret never shows
        panel = portal.tab("Security")
    elif kind == "Header":
        expect(panel.get_by_label("Header value 2", exact=True)).to_have_value(f"tenant-{n}")
    else:
        expect(panel.get_by_label("Query parameter value", exact=True)).to_have_value(f"v-{n}")

    # saving again unchanged keeps it (the Basic password left empty keeps the stored one)
    before = admin.get(f"/management/apis/{api}").json()["properties"]["credentials"]
    portal.save_security(panel)
    assert admin.get(f"/management/apis/{api}").json()["properties"]["credentials"] == before


def test_several_kinds_are_kept(
    portal: Portal, admin: Management, portal_host: DevHost, portal_pki: PortalPki, mtls_echo: EchoBackend
) -> None:
    n = new_id()
    leaf = portal_pki.client_root.issue_client(f"several {n}", kind="ec")
    assert admin.upload(f"sev-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    credentials = {"certificateId": f"sev-{n}", "header": {"x-api-key": [f"k-{n}"]}}
    put = admin.session.put(
        f"{admin.base}/management/apis/sev-{n}",
        json={
            "properties": {
                "displayName": f"sev-{n}",
                "path": f"sev{n}",
                "serviceUrl": mtls_echo.url,
                "credentials": credentials,
                "tls": {"validateCertificateChain": False},
            }
        },
        timeout=30,
    )
    assert put.status_code == 201, put.text
    portal.signed_in()
    portal.open_api(f"sev-{n}")
    panel = portal.tab("Security")
    assert selected_label(panel.get_by_label("With credentials")).startswith("Several")
    certificate = panel.get_by_label("Client certificate", exact=True)
    expect(certificate).to_be_visible()
    assert selected_label(certificate) == option_label(leaf)
    expect(panel.get_by_label("Header value", exact=True)).to_have_value(f"k-{n}")
    expect(panel.get_by_label("Validate certificate chain")).not_to_be_checked()
    portal.shot("01-several")
    portal.save_security(panel)
    after = admin.get(f"/management/apis/sev-{n}").json()["properties"]
    assert after["credentials"] == credentials
    assert after["tls"]["validateCertificateChain"] is False
    answer = gateway_get(portal_host, f"sev{n}/x")
    assert answer.status_code == 200, answer.text
    assert answer.json()["client_cert"]["thumbprint"] == leaf.thumbprint
    assert headers_seen(answer.json())["x-api-key"] == [f"k-{n}"]

    # the Settings tab keeps the credentials it does not show
    settings = portal.tab("Settings")
    settings.get_by_label("Display name", exact=True).fill(f"Several renamed {n}")
    portal.expect_write("PUT", f"/apis/sev-{n}", portal.button("Save", settings).click, ok=(200,))
    expect(portal.page.get_by_role("heading", name=f"Several renamed {n}")).to_be_visible()
    assert admin.get(f"/management/apis/sev-{n}").json()["properties"]["credentials"] == credentials
    panel = portal.tab("Security")

    # choosing one kind drops the others on Save (docs/portal.md)
    panel.get_by_label("With credentials").select_option(label="Header")
    portal.save_security(panel)
    assert admin.get(f"/management/apis/sev-{n}").json()["properties"]["credentials"] == {
        "header": {"x-api-key": [f"k-{n}"]}
    }


def test_missing_certificate_choice_is_refused(portal: Portal, admin: Management) -> None:
    """Client certificates without choosing one: refused before anything is sent."""
    n = new_id()
    assert admin.put_api(f"nochoice-{n}", f"nochoice{n}", "https://x.example").status_code == 201
    portal.signed_in()
    portal.open_api(f"nochoice-{n}")
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="Client certificates")
    puts_before = len([r for r in portal.seen.management_requests() if r.method == "PUT"])
    portal.button("Save", panel).click()
    expect(portal.alerts(panel)).to_be_visible()
    expect(panel.get_by_label("Client certificate", exact=True)).to_be_focused()
    assert len([r for r in portal.seen.management_requests() if r.method == "PUT"]) == puts_before
    assert "credentials" not in admin.get(f"/management/apis/nochoice-{n}").json()["properties"]


def test_tls_options_round_trip(
    portal: Portal, admin: Management, portal_host: DevHost, portal_pki: PortalPki, mtls_echo: EchoBackend
) -> None:
    """Pinned thumbprints and the server name set on the page reach the handshake: the right pin
    passes, a wrong one is the contract's BackendTlsError; the SNI is the name given."""
    n = new_id()
    leaf = portal_pki.client_root.issue_client(f"tls options {n}", kind="ec")
    assert admin.upload(f"tlso-{n}", pfx_cryptography(leaf, "pw"), "pw").status_code == 201
    server_der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", mtls_echo.port)))
    right_pin = hashlib.sha256(server_der).hexdigest()
    put = admin.session.put(
        f"{admin.base}/management/apis/tlso-{n}",
        json={
            "properties": {
                "displayName": f"tlso-{n}",
                "path": f"tlso{n}",
                "serviceUrl": f"https://127.0.0.1:{mtls_echo.port}",
                "credentials": {"certificateId": f"tlso-{n}"},
            }
        },
        timeout=30,
    )
    assert put.status_code == 201, put.text
    portal.signed_in()
    portal.open_api(f"tlso-{n}")
    panel = portal.tab("Security")
    tls = panel.get_by_role("group", name="Backend TLS")
    tls.get_by_label("Validate certificate chain").uncheck()
    pins = tls.get_by_label("Pinned server thumbprints (one per line)")
    pins.fill("00" * 32)
    tls.get_by_label("Server name (SNI)").fill("localhost")
    portal.save_security(panel)
    refused = gateway_get(portal_host, f"tlso{n}/x")
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "BackendTlsError", refused.text
    assert "pinned" in refused.json()["error"]["message"]

    pins.fill(f"{'00' * 20}\n{right_pin.upper()}")
    portal.save_security(panel)
    tls_saved = admin.get(f"/management/apis/tlso-{n}").json()["properties"]["tls"]
    assert tls_saved["serverName"] == "localhost" and len(tls_saved["serverCertificateThumbprints"]) == 2
    handshakes = len(mtls_echo.server_names)
    answer = gateway_get(portal_host, f"tlso{n}/x")
    assert answer.status_code == 200, answer.text
    assert answer.json()["client_cert"]["thumbprint"] == leaf.thumbprint
    assert "localhost" in mtls_echo.server_names[handshakes:]  # SNI though the URL is an IP

    portal.page.reload()
    tls = portal.page.get_by_role("tabpanel", name="Security").get_by_role("group", name="Backend TLS")
    expect(tls.get_by_label("Validate certificate chain")).not_to_be_checked()
    expect(tls.get_by_label("Validate certificate name")).to_be_checked()
    expect(tls.get_by_label("Server name (SNI)")).to_have_value("localhost")
    expect(tls.get_by_label("Pinned server thumbprints (one per line)")).to_have_value(
        re.compile(right_pin, re.I)
    )
    portal.shot("01-tls-options")


def test_header_and_query_rows(
    portal: Portal, admin: Management, portal_host: DevHost, plain_echo: EchoBackend
) -> None:
    """Rows are added and removed (the labels follow), a repeated query name sends each value."""
    n = new_id()
    assert admin.put_api(f"rows-{n}", f"rows{n}", plain_echo.url).status_code == 201
    portal.signed_in()
    portal.open_api(f"rows-{n}")
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="Query")
    panel.get_by_label("Query parameter name", exact=True).fill("drop")
    panel.get_by_label("Query parameter value", exact=True).fill("me")
    for i, value in ((2, "one"), (3, "two")):
        panel.get_by_role("button", name="Add query parameter").click()
        expect(panel.get_by_label(f"Query parameter name {i}", exact=True)).to_be_focused()
        panel.get_by_label(f"Query parameter name {i}", exact=True).fill("sv")
        panel.get_by_label(f"Query parameter value {i}", exact=True).fill(value)
    panel.get_by_role("button", name="Remove query parameter", exact=True).click()  # the first row
    expect(panel.get_by_label("Query parameter value", exact=True)).to_have_value("one")
    expect(panel.get_by_label("Query parameter value 2", exact=True)).to_have_value("two")
    expect(panel.get_by_label("Query parameter name 3", exact=True)).to_have_count(0)
    portal.save_security(panel)
    assert admin.get(f"/management/apis/rows-{n}").json()["properties"]["credentials"] == {
        "query": {"sv": ["one", "two"]}
    }
    answer = gateway_get(portal_host, f"rows{n}/x")
    assert answer.status_code == 200, answer.text
    assert answer.json()["query"] == "sv=one&sv=two"


def test_empty_basic_is_refused(portal: Portal, admin: Management) -> None:
    """Basic chosen and nothing typed: refused before anything is sent, as an empty header list
    or an empty Authorization parameter is, rather than saving `Basic Og==` (":")."""
    n = new_id()
    assert admin.put_api(f"nobasic-{n}", f"nobasic{n}", "https://x.example").status_code == 201
    portal.signed_in()
    portal.open_api(f"nobasic-{n}")
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="Basic")
    puts_before = len([r for r in portal.seen.management_requests() if r.method == "PUT"])
    portal.button("Save", panel).click()
    expect(portal.alerts(panel)).to_be_visible()
    assert len([r for r in portal.seen.management_requests() if r.method == "PUT"]) == puts_before
    assert "credentials" not in admin.get(f"/management/apis/nobasic-{n}").json()["properties"]


def test_server_errors_mark_their_field(portal: Portal, admin: Management, plain_echo: EchoBackend) -> None:
    """A refusal naming a TLS field (its `target`) marks and focuses that field."""
    n = new_id()
    assert admin.put_api(f"marks-{n}", f"marks{n}", plain_echo.url).status_code == 201
    portal.signed_in()
    portal.open_api(f"marks-{n}")
    panel = portal.tab("Security")
    tls = panel.get_by_role("group", name="Backend TLS")
    fields = {
        "Pinned server thumbprints (one per line)": "not-hex",
        "Server name (SNI)": "bad name!",
    }
    for label, bad in fields.items():
        field = tls.get_by_label(label)
        field.fill(bad)
        answer = portal.expect_write("PUT", f"/apis/marks-{n}", portal.button("Save", panel).click, ok=(400,))
        error = answer.json()["error"]
        expect(portal.alerts(panel, error["message"])).to_be_visible()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_be_focused()
        field.fill("")
    portal.shot("01-marked")
    portal.save_security(panel)  # put right, it saves, and no field stays marked
    expect(tls.get_by_label("Server name (SNI)")).not_to_have_attribute("aria-invalid", "true")
