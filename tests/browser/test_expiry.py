"""The expiry flag of the certificate lists: "Expires in N days" within 30 days (N as the API's
daysToExpiry says), "Expired" past it, none for a certificate far from expiry."""

from __future__ import annotations

import datetime

from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import Portal, PortalPki, b64, new_id
from tests.support.pki import pfx_cryptography


def test_expiry_flag(portal: Portal, admin: Management, portal_pki: PortalPki) -> None:
    n, now = new_id(), datetime.datetime.now(datetime.UTC)
    # an hour past the whole days: the count does not drop while the test runs
    soon = portal_pki.client_root.issue_client(
        f"soon {n}", kind="ec", not_after=now + datetime.timedelta(days=10, hours=1)
    )
    later = portal_pki.client_root.issue_client(
        f"later {n}", kind="ec", not_after=now + datetime.timedelta(days=200, hours=1)
    )
    for name, issued in ((f"soon-{n}", soon), (f"later-{n}", later)):
        assert admin.upload(name, pfx_cryptography(issued, "pw"), "pw").status_code == 201
    days = admin.get(f"/management/certificates/soon-{n}").json()["properties"]["daysToExpiry"]
    assert days == 10
    # a CA certificate close to expiry is flagged too
    ca_soon = portal_pki.client_root.issue_client(
        f"ca soon {n}", kind="ec", not_after=now + datetime.timedelta(days=5, hours=1)
    )
    put = admin.session.put(
        f"{admin.base}/management/caCertificates/casoon-{n}",
        json={"properties": {"data": b64(ca_soon.cert_pem)}},
        timeout=30,
    )
    assert put.status_code == 201, put.text

    expired = portal_pki.client_root.issue_client(
        f"ca past {n}", kind="ec", not_after=now - datetime.timedelta(days=2)
    )
    put = admin.session.put(
        f"{admin.base}/management/caCertificates/capast-{n}",
        json={"properties": {"data": b64(expired.cert_pem)}},
        timeout=30,
    )
    assert put.status_code == 201, put.text  # the contract does not refuse an expired CA certificate

    portal.signed_in()
    expect(portal.row(f"soon-{n}", "Client certificates")).to_contain_text("Expires in 10 days")
    later_row = portal.row(f"later-{n}", "Client certificates")
    expect(later_row).to_contain_text(later.cert.not_valid_after_utc.date().isoformat())
    expect(later_row).not_to_contain_text("Expires in")
    portal.shot("01-client-certificates")
    portal.go("CA certificates")
    expect(portal.row(f"casoon-{n}", "CA certificates")).to_contain_text("Expires in 5 days")
    expect(portal.row(f"capast-{n}", "CA certificates")).to_contain_text("Expired")
    portal.shot("02-ca-certificates")
