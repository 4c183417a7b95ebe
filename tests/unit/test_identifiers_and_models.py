import base64

import pytest

from shared.bodies import parse_api_spec, parse_upload
from shared.errors import CertgateError, InvalidIdentifier, InvalidPath
from shared.identifiers import validate_api_path, validate_id


@pytest.mark.parametrize("value", ["a", "A1", "backend-prod", "x.y_z-1", "9" * 80])
def test_valid_ids(value: str) -> None:
    assert validate_id(value, target="id") == value


@pytest.mark.parametrize("value", ["", "-a", ".a", "_a", "a/b", "a b", "é", "a" * 81, "a%2e"])
def test_invalid_ids(value: str) -> None:
    with pytest.raises(InvalidIdentifier):
        validate_id(value, target="id")


@pytest.mark.parametrize("value", ["orders", "orders/v1", "a~b/c.d/e-f_g", "a..b"])
def test_valid_paths(value: str) -> None:
    assert validate_api_path(value) == value


@pytest.mark.parametrize("value", ["", "/a", "a/", "a//b", ".", "a/../b", "a/./b", "a b", "a?b", "a%2Fb"])
def test_invalid_paths(value: str) -> None:
    with pytest.raises(InvalidPath):
        validate_api_path(value)


def api_body(**props: object) -> dict[str, object]:
    base: dict[str, object] = {"path": "p", "serviceUrl": "https://backend.example/api"}
    base.update(props)
    return {"properties": base}


def test_api_spec_defaults() -> None:
    spec = parse_api_spec(api_body())
    assert spec.certificate_id is None
    assert spec.tls.validate_certificate_chain and spec.tls.validate_certificate_name
    assert spec.display_name == "p"


@pytest.mark.parametrize(
    ("props", "code"),
    [
        ({"serviceUrl": ""}, "InvalidServiceUrl"),
        ({"serviceUrl": "/relative"}, "InvalidServiceUrl"),
        ({"serviceUrl": "ftp://x"}, "InvalidServiceUrl"),
        ({"serviceUrl": "http://x", "credentials": {"certificateId": "c"}}, "InvalidServiceUrl"),
        ({"serviceUrl": 5}, "InvalidRequestBody"),
        ({"serviceUrl": None}, "InvalidServiceUrl"),
        ({"path": 5}, "InvalidRequestBody"),
        ({"path": "a/../b"}, "InvalidPath"),
        ({"tls": {"validateCertificateChain": "no"}}, "InvalidRequestBody"),
        ({"credentials": {"certificateId": 1}}, "InvalidRequestBody"),
        ({"credentials": {"certificateId": "-bad"}}, "InvalidIdentifier"),
        ({"displayName": []}, "InvalidRequestBody"),
    ],
)
def test_api_spec_refusals(props: dict[str, object], code: str) -> None:
    with pytest.raises(CertgateError) as info:
        parse_api_spec(api_body(**props))
    assert info.value.code == code


def test_plain_http_allowed_without_certificate() -> None:
    assert parse_api_spec(api_body(serviceUrl="http://backend:8080")).service_url == "http://backend:8080"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"properties": []},
        {"properties": {}},
        {"properties": {"data": "!!"}},
        {"properties": {"data": "AAAA", "password": 5}},
    ],
)
def test_upload_refusals(body: object) -> None:
    with pytest.raises(CertgateError) as info:
        parse_upload(body)
    assert info.value.code == "InvalidRequestBody"


def test_upload_missing_password_is_empty() -> None:
    upload = parse_upload({"properties": {"data": base64.b64encode(b"abc").decode()}})
    assert upload == type(upload)(b"abc", "")


@pytest.mark.parametrize(
    ("props", "code"),
    [
        ({"displayName": "d" * 301}, "InvalidRequestBody"),
        ({"displayName": "\ud800"}, "InvalidRequestBody"),
        ({"displayName": "a\nb"}, "InvalidRequestBody"),
        ({"path": "a" * 401}, "InvalidPath"),
        ({"serviceUrl": "https://x.example/" + "a" * 2000}, "InvalidServiceUrl"),
        ({"serviceUrl": "https://a b.example/x"}, "InvalidServiceUrl"),
        ({"serviceUrl": "https://x.example/x y"}, "InvalidServiceUrl"),
        ({"serviceUrl": "https://x.exa\u0000mple"}, "InvalidServiceUrl"),
        ({"serviceUrl": "https://bad_host.example"}, "InvalidServiceUrl"),
    ],
)
def test_field_limits_and_characters(props: dict[str, object], code: str) -> None:
    with pytest.raises(CertgateError) as info:
        parse_api_spec(api_body(**props))
    assert info.value.code == code


@pytest.mark.parametrize(
    "url", ["https://[::1]:8443/x", "https://127.0.0.1/x", "https://a-b.c.example./p%20q"]
)
def test_service_url_hosts(url: str) -> None:
    assert parse_api_spec(api_body(serviceUrl=url)).service_url == url
