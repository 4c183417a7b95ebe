"""APIM's OData `$filter` subset, parsed by hand into a predicate over a resource's field values.

Pure: a string and the caller's field kinds in, a predicate out; every refusal is
`InvalidQueryParameter` with target `$filter`. The grammar is in docs/behaviour.md ("Lists").
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from shared.errors import InvalidQueryParameter

Value = str | datetime | None
Predicate = Callable[[Mapping[str, Value]], bool]


class Kind(Enum):
    STRING = "string"
    DATETIME = "datetime"


_MAX_LENGTH = 4096
_MAX_DEPTH = 32  # parentheses: bounds the recursion whatever a caller sends
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_STRING_OPERATORS = ("eq", "ne")
_FUNCTIONS: dict[str, Callable[[str, str], bool]] = {
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": lambda value, part: part in value,
}
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<string>'(?:[^']|'')*')
    |(?P<datetime>[0-9][0-9A-Za-z:.+-]*)  # checked as a UTC time where one is expected
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct>[(),])""",
    re.VERBOSE,
)
_UTC_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-]00:00)"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, datetime, name, punct, end
    text: str
    position: int  # 1-based character, for messages


def parse_filter(text: str, fields: Mapping[str, Kind]) -> Predicate:
    """The predicate `text` means over values keyed by the names in `fields`."""
    if not text.strip():
        raise _refuse("'$filter' is empty.")
    if len(text) > _MAX_LENGTH:
        raise _refuse(f"'$filter' is longer than {_MAX_LENGTH} characters.")
    return _Parser(_tokens(text), fields).parse()


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            if text[at] == "'":
                raise _refuse(f"The string that starts at character {at + 1} is not closed.")
            raise _refuse(f"Unexpected character '{text[at]}' at character {at + 1}.")
        kind = match.lastgroup or ""
        if kind != "space":
            found.append(_Token(kind, match.group(), at + 1))
        at = match.end()
    found.append(_Token("end", "", len(text) + 1))
    return found


class _Parser:
    """Recursive descent: `or` of `and`s of primaries; `and` binds tighter."""

    def __init__(self, tokens: list[_Token], fields: Mapping[str, Kind]) -> None:
        self._tokens = tokens
        self._fields = fields
        self._at = 0
        self._depth = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._peek().kind != "end":
            raise self._unexpected("'and', 'or' or the end")
        return predicate

    def _or(self) -> Predicate:
        terms = [self._and()]
        while self._accept_word("or"):
            terms.append(self._and())
        if len(terms) == 1:
            return terms[0]
        return lambda values: any(term(values) for term in terms)

    def _and(self) -> Predicate:
        terms = [self._primary()]
        while self._accept_word("and"):
            terms.append(self._primary())
        if len(terms) == 1:
            return terms[0]
        return lambda values: all(term(values) for term in terms)

    def _primary(self) -> Predicate:
        token = self._peek()
        if token.text == "(":
            self._depth += 1
            if self._depth > _MAX_DEPTH:
                raise _refuse(f"'$filter' nests parentheses deeper than {_MAX_DEPTH}.")
            self._next()
            inner = self._or()
            self._expect(")")
            self._depth -= 1
            return inner
        if token.kind == "name" and token.text in _FUNCTIONS and self._peek(1).text == "(":
            return self._function()
        return self._comparison()

    def _function(self) -> Predicate:
        name = self._next().text
        self._expect("(")
        field = self._field()
        if self._fields[field] is not Kind.STRING:
            raise _refuse(f"'{name}' takes a string field; '{field}' is a date and time.")
        self._expect(",")
        token = self._next()
        if token.kind != "string":
            raise _refuse(f"'{name}' takes a string in single quotes at character {token.position}.")
        part = _unquote(token.text)
        self._expect(")")
        test = _FUNCTIONS[name]
        return lambda values: isinstance(value := values.get(field), str) and test(value, part)

    def _comparison(self) -> Predicate:
        field = self._field()
        token = self._next()
        name = token.text
        if token.kind != "name" or name not in _COMPARISONS:
            raise self._unexpected("one of eq, ne, lt, le, gt, ge", token)
        kind = self._fields[field]
        if kind is Kind.STRING and name not in _STRING_OPERATORS:
            raise _refuse(
                f"'{field}' is a string: it takes eq, ne, startswith, endswith or contains, not '{name}'."
            )
        literal = self._literal(field, kind, name)
        compare = _COMPARISONS[name]
        if name in _STRING_OPERATORS:
            return lambda values: compare(values.get(field), literal)
        return lambda values: (value := values.get(field)) is not None and compare(value, literal)

    def _literal(self, field: str, kind: Kind, operator: str) -> Value:
        token = self._next()
        if token.kind == "end":
            raise self._unexpected("a value", token)
        if token.kind == "name" and token.text == "null" and operator in _STRING_OPERATORS:
            return None
        if kind is Kind.STRING:
            if token.kind != "string":
                raise _refuse(
                    f"'{field}' is a string: compare it with a string in single quotes"
                    f" (character {token.position})."
                )
            return _unquote(token.text)
        if token.kind not in ("datetime", "string"):
            raise _refuse(
                f"'{field}' is a date and time: compare it with an ISO 8601 UTC time such as"
                f" 2027-03-17T21:55:07Z (character {token.position})."
            )
        return _utc_time(_unquote(token.text) if token.kind == "string" else token.text, field)

    def _field(self) -> str:
        token = self._next()
        if token.kind != "name" or token.text in ("and", "or"):
            raise self._unexpected("a field name", token)
        if token.text == "not":
            raise _refuse(f"'not' (character {token.position}) is not in the supported subset.")
        if token.text not in self._fields:
            known = ", ".join(sorted(self._fields))
            raise _refuse(
                f"Unknown field '{token.text}' at character {token.position}; the fields are {known}."
            )
        return token.text

    def _accept_word(self, word: str) -> bool:
        if self._peek().kind == "name" and self._peek().text == word:
            self._next()
            return True
        return False

    def _expect(self, text: str) -> None:
        token = self._next()
        if token.text != text or token.kind != "punct":
            raise self._unexpected(f"'{text}'", token)

    def _peek(self, ahead: int = 0) -> _Token:
        return self._tokens[min(self._at + ahead, len(self._tokens) - 1)]

    def _next(self) -> _Token:
        token = self._peek()
        self._at = min(self._at + 1, len(self._tokens) - 1)
        return token

    def _unexpected(self, wanted: str, token: _Token | None = None) -> InvalidQueryParameter:
        token = token or self._peek()
        found = "the end of the filter" if token.kind == "end" else f"'{token.text}'"
        return _refuse(f"Expected {wanted} at character {token.position}, found {found}.")


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


def _utc_time(text: str, field: str) -> datetime:
    problem = f"'{text}' is not an ISO 8601 UTC time (such as 2027-03-17T21:55:07Z) for '{field}'."
    if not _UTC_TIME.fullmatch(text):
        raise _refuse(problem)
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise _refuse(problem) from exc


def _refuse(message: str) -> InvalidQueryParameter:
    return InvalidQueryParameter(message, target="$filter")
