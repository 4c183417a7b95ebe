import xml.etree.ElementTree as ET

import pytest

from shared.conditions import Conditions
from shared.errors import PreconditionFailed
from shared.models import Api, ApiSpec
from shared.policy import policy_resource, render_policy


def api(cert: str | None) -> Api:
    return Api("orders", ApiSpec("Orders", "orders/v1", 'https://b.example/api?x=1&y="2"', cert))


def test_bound_policy_names_the_certificate() -> None:
    root = ET.fromstring(render_policy(api("backend-prod")))
    element = root.find("inbound/authentication-certificate")
    assert element is not None and element.get("certificate-id") == "backend-prod"
    assert root.find("inbound/set-backend-service").get("base-url") == 'https://b.example/api?x=1&y="2"'  # type: ignore[union-attr]


def test_unbound_policy_has_no_certificate() -> None:
    assert ET.fromstring(render_policy(api(None))).find("inbound/authentication-certificate") is None


def test_policy_resource_shape() -> None:
    res = policy_resource(api("c"))
    assert res["id"] == "/apis/orders/policies/policy"
    assert res["name"] == "policy" and res["type"] == "policies"
    assert res["properties"]["format"] == "rawxml"


@pytest.mark.parametrize(
    ("conditions", "etag"),
    [
        (Conditions(if_match="*"), None),
        (Conditions(if_match='"a"'), None),
        (Conditions(if_match='"a"'), '"b"'),
        (Conditions(if_none_match="*"), '"b"'),
    ],
)
def test_failing_preconditions(conditions: Conditions, etag: str | None) -> None:
    with pytest.raises(PreconditionFailed):
        conditions.check(etag)


@pytest.mark.parametrize(
    ("conditions", "etag"),
    [
        (Conditions(), None),
        (Conditions(if_match="*"), '"a"'),
        (Conditions(if_match='"x", "a"'), '"a"'),
        (Conditions(if_none_match="*"), None),
    ],
)
def test_passing_preconditions(conditions: Conditions, etag: str | None) -> None:
    conditions.check(etag)
