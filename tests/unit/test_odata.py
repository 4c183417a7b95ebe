"""The `$filter` subset: every operator, precedence, quoting, and each refusal with its reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import InvalidQueryParameter
from shared.listing import API_FIELDS, CERTIFICATE_FIELDS, api_values, matcher, page_after
from shared.models import Api, ApiSpec
from shared.odata import Kind, Value, parse_filter

FIELDS = {"name": Kind.STRING, "subject": Kind.STRING, "expirationDate": Kind.DATETIME}
EXPIRY = datetime(2027, 3, 17, 21, 55, 7, tzinfo=UTC)
ROW: dict[str, Value] = {"name": "backend-prod", "subject": "CN=O'Brien, O=Contoso", "expirationDate": EXPIRY}


def matches(text: str, row: dict[str, Value] | None = None) -> bool:
    return parse_filter(text, FIELDS)(ROW if row is None else row)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name eq 'backend-prod'", True),
        ("name eq 'backend'", False),
        ("name ne 'backend'", True),
        ("name ne 'backend-prod'", False),
        ("startswith(name,'backend-')", True),
        ("startswith(name, 'prod')", False),
        ("endswith(name,'-prod')", True),
        ("endswith(name,'backend')", False),
        ("contains(name,'end-p')", True),
        ("contains(name,'test')", False),
        ("startswith(name,'')", True),
    ],
)
def test_string_operators(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(
    ("operator", "moment", "expected"),
    [
        ("eq", "2027-03-17T21:55:07Z", True),
        ("eq", "2027-03-17T21:55:08Z", False),
        ("ne", "2027-03-17T21:55:08Z", True),
        ("ne", "2027-03-17T21:55:07Z", False),
        ("lt", "2027-03-17T21:55:08Z", True),
        ("lt", "2027-03-17T21:55:07Z", False),
        ("le", "2027-03-17T21:55:07Z", True),
        ("le", "2027-03-17T21:55:06Z", False),
        ("gt", "2027-03-17T21:55:06Z", True),
        ("gt", "2027-03-17T21:55:07Z", False),
        ("ge", "2027-03-17T21:55:07Z", True),
        ("ge", "2027-03-17T21:55:08Z", False),
        ("eq", "2027-03-17T21:55:07.000Z", True),
        ("eq", "2027-03-17T21:55:07+00:00", True),
        ("eq", "'2027-03-17T21:55:07Z'", True),  # quoted is taken too
        ("lt", "2027-03-18T00:00Z", True),  # seconds optional
    ],
)
def test_datetime_operators(operator: str, moment: str, expected: bool) -> None:
    assert matches(f"expirationDate {operator} {moment}") is expected


def test_and_binds_tighter_than_or() -> None:
    # true or (false and false): true; (true or false) and false would be false.
    assert matches("name eq 'backend-prod' or name eq 'x' and name eq 'y'")
    assert not matches("(name eq 'backend-prod' or name eq 'x') and name eq 'y'")
    assert not matches("name eq 'x' and name eq 'backend-prod' or name eq 'y'")
    assert matches("name eq 'x' and (name eq 'y' or name eq 'backend-prod') or name eq 'z'") is False
    assert matches("((startswith(name,'b'))) and (expirationDate gt 2027-01-01T00:00:00Z)")


def test_chains_of_and_and_or() -> None:
    assert matches("startswith(name,'b') and endswith(name,'d') and contains(name,'-')")
    assert not matches("startswith(name,'b') and endswith(name,'d') and contains(name,'x')")
    assert matches("name eq 'a' or name eq 'b' or name eq 'backend-prod'")


def test_quotes_are_doubled_inside_strings() -> None:
    assert matches("subject eq 'CN=O''Brien, O=Contoso'")
    assert matches("contains(subject,'O''B')")
    assert matches("contains(subject,'''')")
    assert not matches("contains(name,'''')")
    assert matches("name eq 'and or ( ) eq'", {**ROW, "name": "and or ( ) eq"})


def test_white_space_is_free() -> None:
    assert matches("  ( name   eq\t'backend-prod' )and startswith( name ,'b' ) ")


def test_null_compares_a_missing_value() -> None:
    unbound: dict[str, Value] = {**ROW, "name": None}
    assert matches("name eq null", unbound) and not matches("name eq null")
    assert matches("name ne null") and not matches("name ne null", unbound)
    assert matches("name ne 'x'", unbound)
    assert not matches("startswith(name,'')", unbound)
    assert not matches("expirationDate lt 2030-01-01T00:00:00Z", {**ROW, "expirationDate": None})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("name eq 'x", "not closed"),
        ("name eq 'x''", "not closed"),
        ('name eq "x"', "Unexpected character '\"'"),
        ("name = 'x'", "Unexpected character '='"),
        ("name eq", "found the end of the filter"),
        ("name 'x'", "Expected one of eq, ne, lt, le, gt, ge at character 6"),
        ("name eq 'x' and", "Expected a field name"),
        ("name eq 'x' or or name eq 'y'", "Expected a field name"),
        ("name eq 'x' name eq 'y'", "Expected 'and', 'or' or the end"),
        ("(name eq 'x'", "Expected ')'"),
        ("name eq 'x')", "Expected 'and', 'or' or the end"),
        ("()", "Expected a field name"),
        ("startswith(name 'x')", "Expected ','"),
        ("startswith(name,'x'", "Expected ')'"),
        ("startswith(name,x)", "takes a string in single quotes"),
        ("startswith('x',name)", "Expected a field name"),
        ("NAME eq 'x'", "Unknown field 'NAME'"),
        ("thumbprint eq 'x'", "Unknown field 'thumbprint' at character 1; the fields are expirationDate"),
        ("name EQ 'x'", "Expected one of eq"),
        ("name eq 'x' AND name eq 'y'", "Expected 'and', 'or' or the end"),
        ("not name eq 'x'", "'not'"),
        ("substringof('x',name)", "Unknown field 'substringof'"),
        ("name lt 'x'", "'name' is a string: it takes eq, ne, startswith, endswith or contains, not 'lt'"),
        ("name eq 42", "'name' is a string: compare it with a string"),
        ("name eq 2027-03-17T21:55:07Z", "'name' is a string"),
        ("startswith(expirationDate,'2027')", "'startswith' takes a string field"),
        ("expirationDate lt 'soon'", "'soon' is not an ISO 8601 UTC time"),
        ("expirationDate lt 2027-03-17", "not an ISO 8601 UTC time"),
        ("expirationDate lt 2027-03-17T21:55:07", "not an ISO 8601 UTC time"),
        ("expirationDate lt 2027-03-17T21:55:07+02:00", "not an ISO 8601 UTC time"),
        ("expirationDate lt 2027-02-30T00:00:00Z", "not an ISO 8601 UTC time"),
        ("expirationDate lt name", "is a date and time: compare it with an ISO 8601 UTC time"),
        ("expirationDate lt null", "is a date and time"),
        ("(" * 40 + "name eq 'x'" + ")" * 40, "deeper than 32"),
        ("name eq '" + "x" * 5000 + "'", "longer than 4096"),
    ],
)
def test_refusals_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(InvalidQueryParameter) as caught:
        parse_filter(text, FIELDS)
    assert caught.value.target == "$filter"
    assert caught.value.status == 400 and caught.value.code == "InvalidQueryParameter"
    assert says in caught.value.message, caught.value.message


def test_nesting_within_the_limit_parses() -> None:
    assert matches("(" * 32 + "name eq 'backend-prod'" + ")" * 32)


def test_the_resources_fields() -> None:
    assert set(CERTIFICATE_FIELDS) == {"name", "subject", "thumbprint", "expirationDate"}
    assert CERTIFICATE_FIELDS["expirationDate"] is Kind.DATETIME
    assert set(API_FIELDS) == {"name", "path", "serviceUrl", "certificateId"}
    bound = Api("orders", ApiSpec("Orders", "orders/v1", "https://b.example/api", "backend-prod"))
    unbound = Api("plain", ApiSpec("Plain", "plain", "http://b.example", None))
    wanted = matcher("certificateId eq 'backend-prod' or startswith(serviceUrl,'http:')", API_FIELDS)
    assert wanted(api_values(bound)) and wanted(api_values(unbound))
    assert not matcher("certificateId ne null and path eq 'plain'", API_FIELDS)(api_values(unbound))
    assert matcher(None, API_FIELDS)(api_values(unbound))
    with pytest.raises(InvalidQueryParameter):
        matcher("subject eq 'x'", API_FIELDS)


def test_page_after() -> None:
    ids = ["a", "b", "c", "d", "e"]
    assert page_after(ids, str, after=None, top=2) == (["a", "b"], "b")
    assert page_after(ids, str, after="b", top=2) == (["c", "d"], "d")
    assert page_after(ids, str, after="d", top=2) == (["e"], None)
    assert page_after(ids, str, after="c", top=2) == (["d", "e"], None)
    assert page_after(ids, str, after="e", top=2) == ([], None)
    assert page_after([], str, after=None, top=100) == ([], None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="nameqstrwih(),' ltgdoxpD0123456789-:TZ+.", max_size=60))
def test_any_text_parses_or_is_refused_as_a_query_parameter(text: str) -> None:
    try:
        predicate = parse_filter(text, FIELDS)
    except InvalidQueryParameter as exc:
        assert exc.target == "$filter" and exc.message
    else:
        assert predicate(ROW) in (True, False)
