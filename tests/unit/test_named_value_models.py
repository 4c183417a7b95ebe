"""Named values: strict parsing of the body, and a secret value never in the resource."""

from __future__ import annotations

from typing import Any

import pytest

from shared.bodies import parse_named_value
from shared.errors import InvalidRequestBody
from shared.models import NamedValue, NamedValueSpec


def test_parses_apims_shape() -> None:
    body = {"properties": {"displayName": "prop3name", "value": "propValue", "tags": ["foo", "bar"]}}
    assert parse_named_value(body, "testprop2") == NamedValueSpec(
        "prop3name", "propValue", False, ("foo", "bar")
    )
    assert parse_named_value({"properties": {"value": "v", "secret": True}}, "k").display_name == "k"


@pytest.mark.parametrize(
    ("properties", "target"),
    [
        ({"value": "v", "secrte": True}, "properties.secrte"),
        ({}, "properties.value"),
        ({"value": ""}, "properties.value"),
        ({"value": 3}, "properties.value"),
        ({"value": "v", "secret": "yes"}, "properties.secret"),
        ({"value": "v", "tags": "a"}, "properties.tags"),
        ({"value": "v", "tags": [1]}, "properties.tags"),
        ({"value": "x" * 4097}, "properties.value"),
    ],
)
def test_refuses_bad_bodies(properties: dict[str, Any], target: str) -> None:
    with pytest.raises(InvalidRequestBody) as caught:
        parse_named_value({"properties": properties}, "k")
    assert caught.value.target == target


def test_secret_value_is_absent_from_the_resource() -> None:
    secret = NamedValue("k", NamedValueSpec("K", "hunter2", secret=True)).to_resource()
    assert "value" not in secret["properties"] and "hunter2" not in repr(secret)
    assert secret["properties"]["secret"] is True and secret["type"] == "namedValues"
    plain = NamedValue("k", NamedValueSpec("K", "visible")).to_resource()
    assert plain["properties"]["value"] == "visible" and plain["id"] == "/namedValues/k"
