"""Strict bodies: an unknown property at any depth, or a wrongly typed one, is refused and named
by its dotted path; APIM's `certificateIds` with one id means `certificateId`."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from shared.bodies import parse_api_spec, parse_upload
from shared.errors import CertgateError

DATA = base64.b64encode(b"pfx").decode()


def api(**props: Any) -> dict[str, Any]:
    return {"properties": {"path": "p", "serviceUrl": "https://backend.example", **props}}


def refusal(parse: Any, body: Any) -> tuple[str, str | None]:
    with pytest.raises(CertgateError) as info:
        parse(body)
    return info.value.code, info.value.target


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"properties": {"path": "p"}, "id": "/apis/x"}, "id"),
        (api(servicUrl="https://x"), "properties.servicUrl"),
        (api(credentials={"certifcateId": "c"}), "properties.credentials.certifcateId"),
        (api(tls={"validateCertificateChain": True, "verify": False}), "properties.tls.verify"),
        # misspelt credential kinds and their properties: refused, never dropped
        (
            api(credentials={"authorization": {"scheme": "Basic", "parametr": "x"}}),
            "properties.credentials.authorization.parametr",
        ),
        (api(credentials={"headers": {"x-key": ["v"]}}), "properties.credentials.headers"),
        (api(credentials={"queries": {"sv": ["1"]}}), "properties.credentials.queries"),
    ],
)
def test_unknown_api_properties(body: Any, target: str) -> None:
    assert refusal(parse_api_spec, body) == ("InvalidRequestBody", target)


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"properties": {"data": DATA, "pasword": "x"}}, "properties.pasword"),
        ({"properties": {"data": DATA}, "name": "c"}, "name"),
        ({"propertes": {"data": DATA}}, "propertes"),
        (
            {"properties": {"data": DATA, "keyVault": {"secretIdentifier": "https://v"}}},
            "properties.keyVault",
        ),
    ],
)
def test_unknown_upload_properties(body: Any, target: str) -> None:
    assert refusal(parse_upload, body) == ("InvalidRequestBody", target)


@pytest.mark.parametrize(
    ("props", "target"),
    [
        ({"displayName": 1}, "properties.displayName"),
        ({"path": ["p"]}, "properties.path"),
        ({"serviceUrl": {"url": "https://x"}}, "properties.serviceUrl"),
        ({"credentials": "c"}, "properties.credentials"),
        ({"credentials": {"certificateId": 7}}, "properties.credentials.certificateId"),
        ({"credentials": {"certificateIds": "c"}}, "properties.credentials.certificateIds"),
        ({"credentials": {"certificateIds": [7]}}, "properties.credentials.certificateIds"),
        ({"tls": []}, "properties.tls"),
        ({"tls": {"validateCertificateName": "true"}}, "properties.tls.validateCertificateName"),
        ({"tls": {"validateCertificateChain": None}}, "properties.tls.validateCertificateChain"),
    ],
)
def test_wrongly_typed_api_fields(props: dict[str, Any], target: str) -> None:
    assert refusal(parse_api_spec, api(**props)) == ("InvalidRequestBody", target)


def test_wrongly_typed_upload_fields() -> None:
    assert refusal(parse_upload, {"properties": {"data": 5}}) == ("InvalidRequestBody", "properties.data")
    body = {"properties": {"data": DATA, "password": ["pw"]}}
    assert refusal(parse_upload, body) == ("InvalidRequestBody", "properties.password")


def test_certificate_ids_with_one_id_is_certificate_id() -> None:
    spec = parse_api_spec(api(credentials={"certificateIds": ["backend-prod"]}))
    assert spec.certificate_id == "backend-prod"
    assert (
        parse_api_spec(api(credentials={"certificateId": "c", "certificateIds": None})).certificate_id == "c"
    )


@pytest.mark.parametrize(
    "credentials",
    [
        {"certificateIds": []},
        {"certificateIds": ["a", "b"]},
        {"certificateId": "a", "certificateIds": ["a"]},
    ],
)
def test_certificate_ids_refusals(credentials: dict[str, Any]) -> None:
    code, target = refusal(parse_api_spec, api(credentials=credentials))
    assert (code, target) == ("InvalidRequestBody", "properties.credentials.certificateIds")


def test_certificate_ids_bad_id() -> None:
    code, target = refusal(parse_api_spec, api(credentials={"certificateIds": ["-bad"]}))
    assert (code, target) == ("InvalidIdentifier", "properties.credentials.certificateIds")


def test_message_names_every_unknown_property() -> None:
    with pytest.raises(CertgateError) as info:
        parse_api_spec(api(a=1, b=2))
    assert "'properties.a'" in info.value.message and "'properties.b'" in info.value.message
    assert info.value.target == "properties.a"
