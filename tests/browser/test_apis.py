"""APIs through the page: create, edit on the Settings tab, delete; a bad path is the contract's
InvalidPath next to the form, a taken path PathInUse, an existing name is not replaced; a Save
racing a change elsewhere is refused; a failing Test connection report."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import Portal, PortalPki, new_id
from tests.support.tls_backends import EchoBackend


def refusal(admin: Management, api_id: str, properties: dict[str, Any], status: int, code: str) -> str:
    """The API's own message for a PUT it refuses (the page must show that one)."""
    answer = admin.session.put(
        f"{admin.base}/management/apis/{api_id}", json={"properties": properties}, timeout=30
    )
    assert answer.status_code == status and answer.json()["error"]["code"] == code, answer.text
    return str(answer.json()["error"]["message"])


def test_create_edit_delete_api(portal: Portal, admin: Management) -> None:
    n = new_id()
    api, display = f"orders-{n}", f"Orders {n}"
    portal.signed_in()
    form = portal.create_api(api, display, f"orders{n}/v1", f"https://orders-{n}.example/api")
    expect(form).to_be_hidden()
    row = portal.row(api, "APIs")
    expect(row).to_contain_text(f"orders{n}/v1")
    expect(row).to_contain_text(f"https://orders-{n}.example/api")
    expect(portal.statuses(api)).to_be_visible()
    portal.shot("01-created")

    portal.open_api(api, display)
    expect(portal.page.get_by_role("link", name="Back to APIs")).to_be_visible()
    panel = portal.tab("Settings")
    expect(panel.get_by_label("Path", exact=True)).to_have_value(f"orders{n}/v1")
    panel.get_by_label("Backend URL", exact=True).fill(f"https://orders-{n}.example/v2")
    portal.expect_write("PUT", f"/apis/{api}", portal.button("Save", panel).click, ok=(200,))
    expect(portal.statuses()).not_to_have_count(0)
    portal.shot("02-settings-saved")
    assert (
        admin.get(f"/management/apis/{api}").json()["properties"]["serviceUrl"]
        == f"https://orders-{n}.example/v2"
    )
    portal.page.get_by_role("link", name="Back to APIs").click()
    expect(row).to_contain_text(f"https://orders-{n}.example/v2")

    portal.button("Delete", row).click()
    dialog = portal.dialog(f"Delete API {api}?")
    portal.expect_write("DELETE", f"/apis/{api}", portal.button("Yes, delete it", dialog).click)
    expect(row).to_have_count(0)
    assert admin.get(f"/management/apis/{api}").status_code == 404


def test_create_api_refusals(portal: Portal, admin: Management) -> None:
    n = new_id()
    portal.signed_in()

    # a bad path: InvalidPath in the form's alert, the Path field marked, nothing created
    bad = refusal(
        admin, f"bad-{n}", {"path": "/lead/", "serviceUrl": "https://x.example"}, 400, "InvalidPath"
    )
    form = portal.create_api(f"bad-{n}", "Bad", "/lead/", "https://x.example")
    expect(portal.alerts(form, bad)).to_be_visible()
    expect(form.get_by_label("Path", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(portal.row(f"bad-{n}", "APIs")).to_have_count(0)
    assert admin.get(f"/management/apis/bad-{n}").status_code == 404
    portal.shot("01-invalid-path")
    portal.button("Cancel", form).click()

    # a taken path: PathInUse
    assert admin.put_api(f"first-{n}", f"taken{n}", "https://x.example").status_code == 201
    taken = refusal(
        admin, f"second-{n}", {"path": f"taken{n}", "serviceUrl": "https://y.example"}, 409, "PathInUse"
    )
    form = portal.create_api(f"second-{n}", "Second", f"taken{n}", "https://y.example")
    expect(portal.alerts(form, taken)).to_be_visible()
    assert admin.get(f"/management/apis/second-{n}").status_code == 404
    portal.shot("02-path-in-use")
    portal.button("Cancel", form).click()

    # an existing name: create is create (If-None-Match: *), the API is not replaced
    form = portal.create_api(f"first-{n}", "Replaced?", f"other{n}", "https://z.example")
    expect(portal.alerts(form, f"first-{n}")).to_be_visible()
    assert admin.get(f"/management/apis/first-{n}").json()["properties"]["path"] == f"taken{n}"


def test_save_refused_when_changed_elsewhere(portal: Portal, admin: Management) -> None:
    """Every Save sends If-Match: a change made meanwhile through the API is not overwritten."""
    n = new_id()
    assert admin.put_api(f"race-{n}", f"race{n}", "https://first.example").status_code == 201
    portal.signed_in()
    portal.open_api(f"race-{n}")
    panel = portal.tab("Settings")
    assert admin.put_api(f"race-{n}", f"race{n}", "https://elsewhere.example").status_code == 200
    panel.get_by_label("Backend URL", exact=True).fill("https://mine.example")
    portal.expect_write("PUT", f"/apis/race-{n}", portal.button("Save", panel).click, ok=(412,))
    expect(portal.alerts(panel, re.compile(r"changed elsewhere", re.I))).to_be_visible()
    assert (
        admin.get(f"/management/apis/race-{n}").json()["properties"]["serviceUrl"]
        == "https://elsewhere.example"
    )
    portal.shot("01-precondition-failed")


def test_settings_refusal_marks_the_field(portal: Portal, admin: Management) -> None:
    n = new_id()
    assert admin.put_api(f"own-{n}", f"own{n}", "https://own.example").status_code == 201
    assert admin.put_api(f"mine-{n}", f"mine{n}", "https://mine.example").status_code == 201
    taken = refusal(
        admin, f"mine-{n}", {"path": f"own{n}", "serviceUrl": "https://mine.example"}, 409, "PathInUse"
    )
    portal.signed_in()
    portal.open_api(f"mine-{n}")
    panel = portal.tab("Settings")
    panel.get_by_label("Path", exact=True).fill(f"own{n}")
    portal.expect_write("PUT", f"/apis/mine-{n}", portal.button("Save", panel).click, ok=(409,))
    expect(portal.alerts(panel, taken)).to_be_visible()
    expect(panel.get_by_label("Path", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(panel.get_by_label("Path", exact=True)).to_be_focused()
    assert admin.get(f"/management/apis/mine-{n}").json()["properties"]["path"] == f"mine{n}"
    # a bad Backend URL: InvalidServiceUrl marks that field, and Path is no longer marked
    panel.get_by_label("Path", exact=True).fill(f"mine{n}")
    panel.get_by_label("Backend URL", exact=True).fill("ftp://mine.example")
    answer = portal.expect_write("PUT", f"/apis/mine-{n}", portal.button("Save", panel).click, ok=(400,))
    assert answer.json()["error"]["code"] == "InvalidServiceUrl"
    expect(panel.get_by_label("Backend URL", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(panel.get_by_label("Path", exact=True)).not_to_have_attribute("aria-invalid", "true")
    panel.get_by_label("Backend URL", exact=True).fill("https://mine.example")
    # put right, it saves (the refusal left the page's ETag as it was)
    panel.get_by_label("Path", exact=True).fill(f"mine{n}/v2")
    portal.expect_write("PUT", f"/apis/mine-{n}", portal.button("Save", panel).click, ok=(200,))
    expect(portal.page.get_by_text(f"/gateway/mine{n}/v2")).to_be_visible()


def test_connection_report_failure(
    portal: Portal, admin: Management, portal_pki: PortalPki, mtls_echo: EchoBackend
) -> None:
    """The refusal twin of the passing report: without a client certificate the mTLS backend
    aborts the handshake; the report stops at TLS, says why and which side, and is an alert."""
    n = new_id()
    put = admin.session.put(
        f"{admin.base}/management/apis/tf-{n}",
        json={
            "properties": {
                "displayName": f"Test fails {n}",
                "path": f"tf{n}",
                "serviceUrl": mtls_echo.url,
                "tls": {"validateCertificateChain": False},
            }
        },
        timeout=30,
    )
    assert put.status_code == 201, put.text
    dry_run = admin.session.post(f"{admin.base}/management/apis/tf-{n}/test", timeout=30).json()
    assert dry_run["ok"] is False and [s["name"] for s in dry_run["steps"]] == ["dns", "tcp", "tls"]
    portal.signed_in()
    portal.open_api(f"tf-{n}", f"Test fails {n}")
    portal.page.get_by_role("button", name="Test connection").click()
    report = portal.page.get_by_role("region", name="Test report")
    expect(report).to_contain_text(re.compile(r"failed", re.I))
    expect(report).to_contain_text(dry_run["steps"][-1]["error"]["message"])
    expect(report).to_contain_text(re.compile(r"Name resolution", re.I))
    expect(report).not_to_contain_text(re.compile(r"HTTP request", re.I))  # the steps after it are absent
    portal.shot("01-failed-report", full=True)
    # docs/portal.md: errors in role alert, successes in role status
    expect(portal.alerts(report, re.compile(r"Failed", re.I))).to_be_visible()
