"""Named values through the page: a secret one reads "Secret (hidden)" and its value is nowhere
in the page or in what the page received; a plain one shows its value; a named value that an
API's header refers to cannot be deleted (NamedValueInUse, naming the API)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from tests.api.client import Management
from tests.browser.conftest import Portal, gateway_get, new_id
from tests.services import DevHost
from tests.support.tls_backends import EchoBackend

PAGE_TEXT = (
    "() => [document.documentElement.outerHTML,"
    " ...[...document.querySelectorAll('input, textarea, select')].map(e => e.value)].join('\\n')"
)


def add_named_value(portal: Portal, name: str, value: str, *, secret: bool, tags: str = "") -> None:
    portal.go("Named values")
    portal.button("Add named value").click()
    form = portal.form("Named value")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Display name", exact=True).fill(f"{name} shown")
    form.get_by_label("Value", exact=True).fill(value)
    form.get_by_label("Secret", exact=True).set_checked(secret)
    form.get_by_label("Tags (comma-separated)").fill(tags)
    portal.expect_write("PUT", f"/namedValues/{name}", portal.button("Save", form).click)
    expect(form).to_be_hidden()


def test_secret_and_plain_named_values(portal: Portal, admin: Management) -> None:
    n = new_id()
    secret_value, plain_value = f"s3cret-{n}-value", f"plain-{n}-value"
    portal.signed_in()

    add_named_value(portal, f"sec-{n}", secret_value, secret=True, tags="prod, orders")
    row = portal.row(f"sec-{n}", "Named values")
    expect(row.get_by_text("Secret (hidden)")).to_be_visible()
    expect(row).to_contain_text("prod, orders")
    add_named_value(portal, f"pln-{n}", plain_value, secret=False)
    expect(portal.row(f"pln-{n}", "Named values")).to_contain_text(plain_value)
    portal.shot("01-listed")
    assert admin.get(f"/management/namedValues/sec-{n}").json()["properties"]["secret"] is True

    # editing the secret: the value is asked again, never filled in
    portal.button("Edit", row).click()
    form = portal.form("Named value")
    expect(form.get_by_label("Value", exact=True)).to_have_value("")
    expect(form.get_by_label("Value", exact=True)).to_have_attribute("type", "password")
    portal.shot("02-edit-secret")
    portal.button("Cancel", form).click()

    assert secret_value not in portal.page.evaluate(PAGE_TEXT)
    received = json.dumps(portal.seen.bodies)
    assert f"pln-{n}" in received  # the list responses were seen
    assert secret_value not in received
    sent = [r for r in portal.seen.management_requests() if r.method == "PUT" and f"sec-{n}" in r.url]
    assert len(sent) == 1 and json.loads(sent[0].post_data or "{}")["properties"]["value"] == secret_value


def test_named_value_in_use_is_not_deleted(portal: Portal, admin: Management) -> None:
    n = new_id()
    name, api, display = f"nv-{n}", f"nv-user-{n}", f"Named value user {n}"
    assert (
        admin.session.put(
            f"{admin.base}/management/namedValues/{name}",
            json={"properties": {"displayName": name, "value": "k3y", "secret": True}},
            timeout=30,
        ).status_code
        == 201
    )
    put = admin.session.put(
        f"{admin.base}/management/apis/{api}",
        json={"properties": {"displayName": display, "path": f"nv{n}", "serviceUrl": "https://nv.example"}},
        timeout=30,
    )
    assert put.status_code == 201, put.text
    portal.signed_in()

    # the header refers to it, set through the Security tab
    portal.open_api(api, display)
    panel = portal.tab("Security")
    panel.get_by_label("With credentials").select_option(label="Header")
    panel.get_by_label("Header name", exact=True).fill("x-api-key")
    panel.get_by_label("Header value", exact=True).fill(f"{{{{{name}}}}}")
    portal.save_security(panel)
    credentials = admin.get(f"/management/apis/{api}").json()["properties"]["credentials"]
    assert credentials == {"header": {"x-api-key": [f"{{{{{name}}}}}"]}}

    expected = admin.delete(f"/management/namedValues/{name}")
    assert expected.status_code == 409 and expected.json()["error"]["code"] == "NamedValueInUse"
    portal.go("Named values")
    portal.button("Delete", portal.row(name, "Named values")).click()
    dialog = portal.dialog(f"Delete named value {name}?")
    portal.expect_write(
        "DELETE", f"/namedValues/{name}", portal.button("Yes, delete it", dialog).click, ok=(409,)
    )
    refused = portal.alerts(dialog, expected.json()["error"]["message"])
    expect(refused).to_be_visible()
    expect(refused).to_contain_text(api)
    portal.shot("01-in-use")
    portal.button("Cancel", dialog).click()
    expect(portal.row(name, "Named values")).to_have_count(1)
    assert admin.get(f"/management/namedValues/{name}").status_code == 200


def test_editing_a_secret_never_blanks_it(
    portal: Portal, admin: Management, portal_host: DevHost, plain_echo: EchoBackend
) -> None:
    """The page never has a secret's value: an edit that leaves Value empty must not store ""."""
    n = new_id()
    name = f"edit-{n}"
    assert (
        admin.session.put(
            f"{admin.base}/management/namedValues/{name}",
            json={"properties": {"displayName": name, "value": f"orig-{n}", "secret": True}},
            timeout=30,
        ).status_code
        == 201
    )
    put = admin.session.put(
        f"{admin.base}/management/apis/edit-user-{n}",
        json={
            "properties": {
                "path": f"edit{n}",
                "serviceUrl": plain_echo.url,
                "credentials": {"header": {"x-secret": [f"{{{{{name}}}}}"]}},
            }
        },
        timeout=30,
    )
    assert put.status_code == 201, put.text
    portal.signed_in()
    portal.go("Named values")
    portal.button("Edit", portal.row(name, "Named values")).click()
    form = portal.form("Named value")
    form.get_by_label("Display name", exact=True).fill(f"renamed {n}")
    portal.button("Save", form).click()
    # either the page asks for the value again, or whatever it sent kept the secret
    expect(portal.alerts(form).or_(portal.statuses(name))).to_be_visible()
    portal.shot("01-edit-secret-saved")
    answer = gateway_get(portal_host, f"edit{n}/x")
    assert answer.status_code == 200, answer.text
    sent = [v for k, v in answer.json()["headers"] if k.lower() == "x-secret"]
    assert sent == [f"orig-{n}"], f"the secret was replaced through an edit that left Value empty: {sent}"


def test_long_list_follows_next_link(portal: Portal, admin: Management) -> None:
    """More than one page of the API (default $top 100): every item is listed."""
    n = new_id()
    names = [f"pg-{n}-{i:03}" for i in range(101)]

    def put(name: str) -> int:
        return admin.session.put(
            f"{admin.base}/management/namedValues/{name}",
            json={"properties": {"displayName": name, "value": "v", "secret": False}},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(put, names)) == {201}
    portal.signed_in()
    portal.go("Named values")
    expect(portal.row(f"pg-{n}-", "Named values")).to_have_count(101)
    pages = [r.url for r in portal.seen.management_requests() if "/management/namedValues" in r.url]
    assert len(pages) >= 2, pages  # the first page and its nextLink
