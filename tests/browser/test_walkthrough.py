"""The issue's core, through the page only: sign in (refused, then accepted), upload a client
certificate (wrong password, then right), trust a CA certificate, make two APIs, bind each to the
certificate on its Security tab, call the gateway (the backend reports the certificate the portal
bound; an unbound API is refused), read the policy, test the connection, and delete the
certificate (refused while used, then gone)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import (
    Portal,
    PortalPki,
    gateway_get,
    new_id,
    option_label,
    start_portal_host,
    write_pem,
    write_pfx,
)
from tests.services import Azurite, DevHost
from tests.support.tls_backends import EchoBackend


@pytest.fixture(scope="module")
def portal_host(
    azurite: Azurite, portal_pki: PortalPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevHost]:
    """The walkthrough's own host and tables: its screenshots (which the README shows) hold its
    own rows only, whatever ran before it on this worker."""
    host = start_portal_host(azurite, portal_pki, tmp_path_factory.mktemp("walkthrough-host"))
    yield host
    host.stop()


def refusal(response: requests.Response, status: int, code: str) -> str:
    """The contract's message for a refusal the API gave (so the page can be held to it)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


def bind_on_security_tab(
    portal: Portal, api: str, display: str, cert_label: str, *, chain: bool, ca: str | None
) -> None:
    portal.open_api(api, display)
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="Client certificates")
    panel.get_by_label("Client certificate", exact=True).select_option(label=cert_label)
    tls = panel.get_by_role("group", name="Backend TLS")
    if not chain:
        tls.get_by_label("Validate certificate chain").uncheck()
    if ca is not None:
        tls.get_by_role("group", name="Trusted CA certificates").get_by_label(ca).check()
    portal.save_security(panel)


def unbind(portal: Portal, api: str, display: str) -> None:
    portal.open_api(api, display)
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="None")
    portal.save_security(panel)


def test_walkthrough(
    portal: Portal,
    admin: Management,
    portal_host: DevHost,
    portal_pki: PortalPki,
    mtls_echo: EchoBackend,
    tmp_path: Path,
) -> None:
    page, n = portal.page, new_id()
    cert, ca = f"wt-{n}", f"wt-root-{n}"
    apis = {f"wta-{n}": f"Walkthrough A {n}", f"wtb-{n}": f"Walkthrough B {n}"}
    (api_a, display_a), (api_b, display_b) = apis.items()
    # valid long enough to carry no expiry flag (the CA reaches a year ahead)
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=300)
    leaf = portal_pki.client_root.issue_client(f"walkthrough client {n}", kind="ec", not_after=until)
    pfx = write_pfx(tmp_path, leaf, "right-pw")

    # sign in: a wrong key is refused and the key is asked again
    portal.open()
    portal.shot("01-sign-in", full=True)
    portal.sign_in("not-the-master-key")
    expect(portal.alerts(text=re.compile(r"refused", re.I))).to_be_visible()
    expect(portal.key_field).to_be_visible()
    expect(portal.key_field).to_be_editable()
    expect(portal.key_field).to_be_focused()
    expect(portal.key_field).to_have_value("")
    expect(portal.key_field).to_have_attribute("aria-invalid", "true")
    expect(portal.nav("Client certificates")).to_be_hidden()
    portal.shot("02-key-refused", full=True)
    portal.sign_in()
    for name in ("Client certificates", "CA certificates", "Named values", "APIs"):
        expect(portal.nav(name)).to_be_visible()
    portal.shot("03-signed-in", full=True)

    # upload: the wrong password is the contract's InvalidPassword, nothing listed or stored
    wrong = refusal(admin.upload(f"probe-{n}", pfx.read_bytes(), "wrong-pw"), 400, "InvalidPassword")
    form = portal.upload_certificate(cert, pfx, "wrong-pw")
    expect(portal.alerts(form, wrong)).to_be_visible()
    expect(portal.row(cert, "Client certificates")).to_have_count(0)
    assert admin.get(f"/management/certificates/{cert}").status_code == 404
    portal.shot("04-upload-wrong-password", full=True)
    portal.submit_upload(form, cert, pfx, "right-pw")
    row = portal.row(cert, "Client certificates")
    expect(row).to_contain_text(leaf.subject)
    expect(row.get_by_role("strong")).to_have_text(leaf.thumbprint[-4:])  # apart, in bold
    expect(row).to_contain_text(leaf.thumbprint[:-4])
    expect(portal.statuses(cert)).to_be_visible()
    portal.shot("05-certificate-listed", full=True)

    # a CA certificate for API B's backend, two APIs through the Add API form
    portal.upload_ca(ca, write_pem(tmp_path, portal_pki.server_root))
    expect(portal.row(ca, "CA certificates")).to_contain_text(
        portal_pki.server_root.cert.subject.rfc4514_string()
    )
    for (api, display), suffix in zip(apis.items(), ("a", "b"), strict=True):
        portal.create_api(api, display, f"wt{n}/{suffix}", f"{mtls_echo.url}/{suffix}")
        expect(portal.row(api, "APIs")).to_contain_text(f"wt{n}/{suffix}")
    portal.shot("06-apis", full=True)

    # bind each on its Security tab: A without chain validation, B trusting the uploaded CA
    bind_on_security_tab(portal, api_a, display_a, option_label(leaf), chain=False, ca=None)
    portal.shot("07-security-saved", full=True)
    bind_on_security_tab(portal, api_b, display_b, option_label(leaf), chain=True, ca=ca)
    a = admin.get(f"/management/apis/{api_a}").json()["properties"]
    b = admin.get(f"/management/apis/{api_b}").json()["properties"]
    assert a["credentials"] == {"certificateId": cert} and a["tls"]["validateCertificateChain"] is False
    assert b["credentials"] == {"certificateId": cert} and b["tls"]["caCertificateIds"] == [ca]

    portal.go("APIs")
    expect(portal.row(api_a, "APIs")).to_contain_text(cert)  # the Credentials column names it
    portal.go("Client certificates")
    for api in apis:
        expect(portal.row(cert, "Client certificates").get_by_role("link", name=api)).to_be_visible()

    # the gateway presents the certificate the portal bound (effective at once)
    for suffix in ("a", "b"):
        answer = gateway_get(portal_host, f"wt{n}/{suffix}/items?id=7")
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        assert seen["path"] == f"/{suffix}/items" and seen["client_cert"]["thumbprint"] == leaf.thumbprint
    # refusal twins: unbound, the backend aborts the handshake; bound without trust, we refuse it
    unbound = admin.session.put(
        f"{admin.base}/management/apis/wtu-{n}",
        json={
            "properties": {
                "path": f"wt{n}/u",
                "serviceUrl": mtls_echo.url,
                "tls": {"validateCertificateChain": False},
            }
        },
        timeout=30,
    )
    assert unbound.status_code == 201, unbound.text
    untrusted = admin.put_api(f"wtt-{n}", f"wt{n}/t", mtls_echo.url, cert)
    assert untrusted.status_code == 201, untrusted.text
    for suffix in ("u", "t"):
        refused = gateway_get(portal_host, f"wt{n}/{suffix}/items")
        assert refused.status_code == 502 and refused.json()["error"]["code"] == "BackendTlsError", (
            refused.text
        )
    assert admin.delete(f"/management/apis/wtt-{n}").status_code == 200  # else it blocks the delete below

    # the policy, read-only
    portal.open_api(api_a, display_a)
    policy = portal.tab("Policy").get_by_role("textbox", name="Policy XML")
    expect(policy).to_have_value(re.compile(rf'<authentication-certificate certificate-id="{cert}" />'))
    expect(policy).not_to_be_editable()
    assert policy.get_attribute("readonly") is not None
    portal.shot("08-policy", full=True)

    # the dry run, step by step
    page.get_by_role("button", name="Test connection").click()
    report = page.get_by_role("region", name="Test report")
    for step in (r"name resolution|dns", r"\btcp\b", r"\btls\b", r"\bhttp\b"):
        expect(report).to_contain_text(re.compile(step, re.I))
    expect(report).to_contain_text(re.compile(r"\b(passed|succeeded|ok)\b", re.I))
    expect(report).not_to_contain_text(re.compile(r"\bfailed\b", re.I))
    expect(report).to_contain_text(leaf.subject)  # the chain that was sent
    portal.shot("09-test-report", full=True)

    # delete while used: the dialog names both APIs; the API's 409 is shown; nothing deleted
    in_use = refusal(admin.delete(f"/management/certificates/{cert}"), 409, "CertificateInUse")
    portal.go("Client certificates")
    portal.button("Delete", portal.row(cert, "Client certificates")).click()
    dialog = portal.dialog(f"Delete certificate {cert}?")
    warning = portal.alerts(dialog, api_a)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(api_b)
    portal.shot("10-delete-dialog", full=True)
    portal.button("Yes, delete it", dialog).click()
    expect(portal.alerts(dialog, in_use)).to_be_visible()
    portal.shot("11-delete-refused", full=True)
    assert admin.get(f"/management/certificates/{cert}").status_code == 200
    if dialog.is_visible():
        portal.button("Cancel", dialog).click()
    expect(portal.row(cert, "Client certificates")).to_have_count(1)

    # unbind both, then the delete goes through
    unbind(portal, api_a, display_a)
    unbind(portal, api_b, display_b)
    assert "credentials" not in admin.get(f"/management/apis/{api_a}").json()["properties"]
    portal.go("Client certificates")
    portal.button("Delete", portal.row(cert, "Client certificates")).click()
    dialog = portal.dialog(f"Delete certificate {cert}?")
    expect(portal.alerts(dialog)).to_have_count(0)
    portal.button("Yes, delete it", dialog).click()
    expect(portal.row(cert, "Client certificates")).to_have_count(0)
    assert admin.get(f"/management/certificates/{cert}").status_code == 404
    portal.shot("12-deleted", full=True)

    # the whole tour under the strict CSP: no violation, no uncaught error
    assert portal.seen.csp_violations() == []
    assert portal.seen.errors == []
