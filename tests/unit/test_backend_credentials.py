"""Backend credentials, pure: parsing, `{{namedValueId}}` substitution, replacement of the
client's header and query parameter, and the policy XML."""

from __future__ import annotations

import pytest

from shared.bodies import parse_api_spec, parse_backend_credentials
from shared.errors import InvalidRequestBody
from shared.gateway.credentials import credential_headers, credential_query, substitute
from shared.models import Api, Authorization, BackendCredentials
from shared.policy import render_policy

CREDENTIALS = {
    "authorization": {"scheme": "Bearer", "parameter": "{{token}}"},
    "header": {"x-api-key": ["{{key}}", "second"]},
    "query": {"sv": ["2024-01-01"], "sig": ["a{{key}}b"]},
}


def _spec(credentials: object) -> Api:
    body = {"properties": {"path": "p", "serviceUrl": "https://b.example", "credentials": credentials}}
    return Api("a", parse_api_spec(body))


def test_parses_and_returns_as_written() -> None:
    api = _spec(CREDENTIALS)
    creds = api.spec.backend_credentials
    assert creds.authorization == Authorization("Bearer", "{{token}}")
    assert creds.named_value_ids() == {"token", "key"}
    assert api.to_resource()["properties"]["credentials"] == CREDENTIALS
    assert parse_backend_credentials(creds.to_wire()) == creds


@pytest.mark.parametrize(
    ("credentials", "target"),
    [
        ({"authorization": {"scheme": "Basic"}}, "authorization.parameter"),
        ({"authorization": {"scheme": "B a", "parameter": "x"}}, "authorization.scheme"),
        ({"authorization": "Basic x"}, "authorization"),
        ({"header": {"Content-Length": ["1"]}}, "header.Content-Length"),
        ({"header": {"bad name": ["1"]}}, "header.bad name"),
        ({"header": {"a": ["x\r\ny: z"]}}, "header.a"),
        ({"header": {"a": []}}, "header.a"),
        ({"header": {"a": ["1"], "A": ["2"]}}, "header.A"),
        ({"query": ["a"]}, "query"),
        (
            {"authorization": {"scheme": "Basic", "parameter": "x"}, "header": {"Authorization": ["y"]}},
            "header",
        ),
    ],
)
def test_refusals_name_the_property(credentials: object, target: str) -> None:
    with pytest.raises(InvalidRequestBody) as caught:
        _spec(credentials)
    assert caught.value.target is not None and caught.value.target.endswith(target)


def test_substitution_and_replacement() -> None:
    creds = _spec(CREDENTIALS).spec.backend_credentials
    values = {"token": "t0k", "key": "s3c"}
    assert substitute("a{{key}}b{{key}}", values) == "as3cbs3c"
    headers = credential_headers(
        [("X-API-KEY", "client"), ("Authorization", "client"), ("Accept", "*/*")], creds, values
    )
    assert headers == [
        ("Accept", "*/*"),
        ("Authorization", "Bearer t0k"),
        ("x-api-key", "s3c"),
        ("x-api-key", "second"),
    ]
    query = credential_query("sv=old&keep=%2F&sig=x&sv=again", creds, values)
    assert query == "keep=%2F&sv=2024-01-01&sig=as3cb"
    assert credential_query("a=1", BackendCredentials(), values) == "a=1"


def test_policy_shows_references_never_values() -> None:
    policy = render_policy(_spec(CREDENTIALS))
    assert (
        '    <set-header name="Authorization" exists-action="override">\n'
        "      <value>Bearer {{token}}</value>\n    </set-header>"
    ) in policy
    assert '<set-header name="x-api-key" exists-action="override">' in policy
    assert "<value>{{key}}</value>\n      <value>second</value>" in policy
    assert (
        '<set-query-parameter name="sig" exists-action="override">\n      <value>a{{key}}b</value>' in policy
    )
    basic = render_policy(_spec({"authorization": {"scheme": "Basic", "parameter": "dXNlcjpwJmFzcw=="}}))
    assert '<authentication-basic username="user" password="p&amp;ass" />' in basic
    named = render_policy(_spec({"authorization": {"scheme": "Basic", "parameter": "{{b}}"}}))
    assert "<value>Basic {{b}}</value>" in named and "authentication-basic" not in named
