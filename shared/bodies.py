"""Request bodies: the only place wire JSON (camelCase) comes in and becomes the domain's
dataclasses. Strict: every unknown property is refused, never dropped."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

from shared.errors import CertgateError, InvalidPath, InvalidRequestBody, InvalidServiceUrl
from shared.identifiers import validate_api_path, validate_id
from shared.models import (
    ApiSpec,
    Authorization,
    BackendCredentials,
    NamedValueSpec,
    Pairs,
    TlsSettings,
    Upload,
)

# A DNS name, an IPv4 address, or an IPv6 literal (urlsplit strips its brackets).
_HOST = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?|[0-9A-Fa-f:.]+"
)


# what is built is here (APIM's other credential kinds and TLS options are not, yet).
_UPLOAD_FIELDS = ("data", "password")
_API_FIELDS = ("displayName", "path", "serviceUrl", "credentials", "tls")
_CREDENTIAL_FIELDS = ("certificateId", "certificateIds", "authorization", "header", "query")
_AUTHORIZATION_FIELDS = ("scheme", "parameter")
_TLS_FLAGS = ("validateCertificateChain", "validateCertificateName")
_TLS_FIELDS = (*_TLS_FLAGS, "caCertificateIds", "serverCertificateThumbprints", "serverName")


def parse_upload(body: Any) -> Upload:
    """Body of PUT /management/certificates/{id}: {"properties": {"data", "password"?}}."""
    props = _properties(body, _UPLOAD_FIELDS)
    data = props.get("data")
    if not isinstance(data, str) or not data:
        raise InvalidRequestBody(
            "'properties.data' must be the base64 of a .pfx file.", target="properties.data"
        )
    password = props.get("password", "")
    if password is None:
        password = ""
    if not isinstance(password, str):
        raise InvalidRequestBody("'properties.password' must be a string.", target="properties.password")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestBody("'properties.data' is not valid base64.", target="properties.data") from exc
    return Upload(data=raw, password=password)


def parse_ca_upload(body: Any) -> bytes:
    """Body of PUT /management/caCertificates/{id}: {"properties": {"data"}}, the decoded bytes."""
    props = _properties(body, ("data",))
    data = props.get("data")
    if not isinstance(data, str) or not data:
        raise InvalidRequestBody(
            "'properties.data' must be the base64 of a DER or PEM certificate.", target="properties.data"
        )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestBody("'properties.data' is not valid base64.", target="properties.data") from exc


def parse_api_spec(body: Any) -> ApiSpec:
    """Body of PUT /management/apis/{id}; validates every field before any storage call."""
    props = _properties(body, _API_FIELDS)
    display_name = props.get("displayName", "")
    path = props.get("path")
    service_url = props.get("serviceUrl")
    if not isinstance(display_name, str):
        raise InvalidRequestBody(
            "'properties.displayName' must be a string.", target="properties.displayName"
        )
    if not isinstance(path, str):
        raise InvalidRequestBody("'properties.path' must be a string.", target="properties.path")
    if service_url is None:
        raise InvalidServiceUrl(
            "'properties.serviceUrl' must be an absolute URL.", target="properties.serviceUrl"
        )
    if not isinstance(service_url, str):
        raise InvalidRequestBody("'properties.serviceUrl' must be a string.", target="properties.serviceUrl")
    certificate_id = _certificate_id(props.get("credentials"))
    backend_credentials = parse_backend_credentials(props.get("credentials"))
    tls = _tls(props.get("tls"))
    _check_text(display_name, "displayName", MAX_DISPLAY_NAME, InvalidRequestBody)
    _check_text(path, "path", MAX_PATH, InvalidPath)
    _check_text(service_url, "serviceUrl", MAX_SERVICE_URL, InvalidServiceUrl)
    validate_api_path(path)
    _validate_service_url(service_url, with_certificate=certificate_id is not None)
    if urlsplit(service_url).scheme == "http" and (
        tls.ca_certificate_ids or tls.server_certificate_thumbprints or tls.server_name
    ):
        # Else the pin, trust or name would be ignored without a word: there is no TLS at all.
        raise InvalidServiceUrl(
            "'serviceUrl' must use https when tls names CA certificates, pins or a server name.",
            target="serviceUrl",
        )
    return ApiSpec(display_name or path, path, service_url, certificate_id, tls, backend_credentials)


# APIM's own limits for these fields (Api entity, 2024-05-01).
MAX_DISPLAY_NAME = 300
MAX_PATH = 400
MAX_SERVICE_URL = 2000


def _check_text(value: str, name: str, limit: int, error: type[CertgateError]) -> None:
    if len(value) > limit:
        raise error(f"'{name}' is longer than {limit} characters.", target=name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON escape
        raise error(f"'{name}' is not valid Unicode text.", target=name) from exc
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise error(f"'{name}' holds control characters.", target=name)


def _properties(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if isinstance(body, dict):
        _only_known(body, ("properties",), "")
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise InvalidRequestBody(
            "The body must be a JSON object with a 'properties' object.", target="properties"
        )
    props: dict[str, Any] = body["properties"]
    _only_known(props, allowed, "properties")
    return props


def _only_known(obj: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """Refuse unknown properties, the first (in the body's order) named by its dotted path in
    `target`: a misspelt field must never be dropped (an API would lose its certificate)."""
    unknown = [f"{where}.{name}" if where else name for name in obj if name not in allowed]
    if unknown:
        raise InvalidRequestBody(
            f"Unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}: "
            f"{repr(where) if where else 'the body'} accepts only {', '.join(map(repr, allowed))}.",
            target=unknown[0],
        )


def _certificate_id(credentials: Any) -> str | None:
    """`certificateId`, or APIM's `certificateIds` with exactly one id (not both)."""
    where = "properties.credentials"
    if credentials is None:
        return None
    if not isinstance(credentials, dict):
        raise InvalidRequestBody(f"'{where}' must be an object.", target=where)
    _only_known(credentials, _CREDENTIAL_FIELDS, where)
    cert_id = credentials.get("certificateId")
    ids = credentials.get("certificateIds")
    if ids is not None:
        if cert_id is not None:
            raise InvalidRequestBody(
                f"Give '{where}.certificateId' or '{where}.certificateIds', not both.",
                target=f"{where}.certificateIds",
            )
        if not isinstance(ids, list) or len(ids) != 1:
            raise InvalidRequestBody(
                f"'{where}.certificateIds' must be a list of exactly one certificate id.",
                target=f"{where}.certificateIds",
            )
        cert_id = ids[0]
        if not isinstance(cert_id, str):
            raise InvalidRequestBody(
                f"'{where}.certificateIds' must hold a string.", target=f"{where}.certificateIds"
            )
        return validate_id(cert_id, target=f"{where}.certificateIds")
    if cert_id is None:
        return None
    if not isinstance(cert_id, str):
        raise InvalidRequestBody(
            f"'{where}.certificateId' must be a string.", target=f"{where}.certificateId"
        )
    return validate_id(cert_id, target=f"{where}.certificateId")


# RFC 9110 5.1 field names; those the gateway writes itself or that frame the message are refused.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "trailer", "keep-alive"}
)


def parse_backend_credentials(credentials: Any) -> BackendCredentials:
    """`credentials.authorization`, `.header` and `.query` (the object was checked by
    `_certificate_id`: an object of known properties, or None)."""
    where = "properties.credentials"
    if credentials is None:
        return BackendCredentials()
    authorization = credentials.get("authorization")
    if authorization is not None:
        at = f"{where}.authorization"
        if not isinstance(authorization, dict):
            raise InvalidRequestBody(f"'{at}' must be an object.", target=at)
        _only_known(authorization, _AUTHORIZATION_FIELDS, at)
        scheme, parameter = authorization.get("scheme"), authorization.get("parameter")
        if not isinstance(scheme, str) or not _TOKEN.fullmatch(scheme):
            raise InvalidRequestBody(f"'{at}.scheme' must be an HTTP auth scheme.", target=f"{at}.scheme")
        if not isinstance(parameter, str) or not parameter:
            message = f"'{at}.parameter' must be a non-empty string."
            raise InvalidRequestBody(message, target=f"{at}.parameter")
        _check_text(parameter, "authorization.parameter", MAX_CREDENTIAL_VALUE, InvalidRequestBody)
        authorization = Authorization(scheme, parameter)
    header = _pairs(credentials.get("header"), f"{where}.header", headers=True)
    if authorization is not None and any(name.lower() == "authorization" for name, _ in header):
        raise InvalidRequestBody(
            f"Give '{where}.authorization' or an Authorization header, not both.", target=f"{where}.header"
        )
    return BackendCredentials(authorization, header, _pairs(credentials.get("query"), f"{where}.query"))


MAX_CREDENTIAL_VALUE = 4096


def _pairs(value: Any, where: str, *, headers: bool = False) -> Pairs:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise InvalidRequestBody(f"'{where}' must be an object of names to lists of values.", target=where)
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for name, values in value.items():
        at = f"{where}.{name}"
        valid = _TOKEN.fullmatch(name) and name.lower() not in _RESERVED_HEADERS if headers else name
        if not valid:
            raise InvalidRequestBody(f"'{at}' is not a name that can be set.", target=at)
        if any(name.lower() == seen.lower() for seen, _ in pairs):
            raise InvalidRequestBody(f"'{at}' is given twice (names are case-insensitive).", target=at)
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise InvalidRequestBody(f"'{at}' must be a non-empty list of strings.", target=at)
        for text in values:
            _check_text(text, at, MAX_CREDENTIAL_VALUE, InvalidRequestBody)
        pairs.append((name, tuple(values)))
    return tuple(pairs)


def _tls(tls: Any) -> TlsSettings:
    where = "properties.tls"
    if tls is None:
        return TlsSettings()
    if not isinstance(tls, dict):
        raise InvalidRequestBody(f"'{where}' must be an object.", target=where)
    _only_known(tls, _TLS_FIELDS, where)
    values = {}
    for name in _TLS_FLAGS:
        value = tls.get(name, True)
        if not isinstance(value, bool):
            raise InvalidRequestBody(f"'{where}.{name}' must be true or false.", target=f"{where}.{name}")
        values[name] = value
    return TlsSettings(
        values["validateCertificateChain"],
        values["validateCertificateName"],
        ca_certificate_ids=_ca_ids(tls.get("caCertificateIds"), f"{where}.caCertificateIds"),
        server_certificate_thumbprints=_thumbprints(
            tls.get("serverCertificateThumbprints"), f"{where}.serverCertificateThumbprints"
        ),
        server_name=_server_name(tls.get("serverName"), f"{where}.serverName"),
    )


def _string_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequestBody(f"'{where}' must be a list of strings.", target=where)
    return value


def _ca_ids(value: Any, where: str) -> tuple[str, ...]:
    ids = [validate_id(v, target=where) for v in _string_list(value, where)]
    return tuple(dict.fromkeys(ids))


_SEPARATORS = re.compile(r"[:\s]")
_HEX = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")


def normalise_thumbprint(text: str) -> str | None:
    """Upper-case hex without `:` or white space; None unless SHA-1 (40) or SHA-256 (64) hex."""
    hexed = _SEPARATORS.sub("", text).upper()
    return hexed if _HEX.fullmatch(hexed) else None


def _thumbprints(value: Any, where: str) -> tuple[str, ...]:
    pins: list[str] = []
    for text in _string_list(value, where):
        pin = normalise_thumbprint(text)
        if pin is None:
            raise InvalidRequestBody(
                f"'{where}' must hold SHA-1 (40) or SHA-256 (64) hex thumbprints: {text!r} is neither.",
                target=where,
            )
        pins.append(pin)
    return tuple(dict.fromkeys(pins))


_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def _server_name(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 253 or not _DNS_NAME.fullmatch(value):
        raise InvalidRequestBody(f"'{where}' must be a DNS name.", target=where)
    return value.lower()


def _validate_service_url(url: str, *, with_certificate: bool) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidServiceUrl(f"'serviceUrl' is not a valid URL: {exc}.", target="serviceUrl") from exc
    if any(c.isspace() for c in url):
        raise InvalidServiceUrl("'serviceUrl' must not contain white space.", target="serviceUrl")
    if parts.scheme not in ("http", "https") or not parts.hostname or not _HOST.fullmatch(parts.hostname):
        raise InvalidServiceUrl("'serviceUrl' must be an absolute http(s) URL.", target="serviceUrl")
    if parts.scheme == "http" and with_certificate:
        raise InvalidServiceUrl(
            "'serviceUrl' must use https when a client certificate is bound.", target="serviceUrl"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidServiceUrl(
            "'serviceUrl' must not carry a query, a fragment or credentials.", target="serviceUrl"
        )


_NAMED_VALUE_FIELDS = ("displayName", "value", "secret", "tags")
# APIM's limits (NamedValue entity, 2024-05-01): display name 256, value 4096, 32 tags.
MAX_NAMED_VALUE = 4096
MAX_TAGS = 32


def parse_named_value(body: Any, named_value_id: str) -> NamedValueSpec:
    """Body of PUT /management/namedValues/{id}: {"properties": {"displayName"?, "value",
    "secret"?, "tags"?}}; the display name defaults to the id."""
    props = _properties(body, _NAMED_VALUE_FIELDS)
    display_name = props.get("displayName") or named_value_id
    value = props.get("value")
    secret = props.get("secret", False)
    tags = props.get("tags") or []
    if not isinstance(display_name, str):
        raise InvalidRequestBody(
            "'properties.displayName' must be a string.", target="properties.displayName"
        )
    if not isinstance(value, str) or not value:
        raise InvalidRequestBody("'properties.value' must be a non-empty string.", target="properties.value")
    if not isinstance(secret, bool):
        raise InvalidRequestBody("'properties.secret' must be true or false.", target="properties.secret")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags) or len(tags) > MAX_TAGS:
        raise InvalidRequestBody(
            f"'properties.tags' must be a list of at most {MAX_TAGS} strings.", target="properties.tags"
        )
    _check_text(display_name, "displayName", 256, InvalidRequestBody)
    if len(value) > MAX_NAMED_VALUE:
        raise InvalidRequestBody(
            f"'value' is longer than {MAX_NAMED_VALUE} characters.", target="properties.value"
        )
    _check_text(value, "value", MAX_NAMED_VALUE, InvalidRequestBody)
    return NamedValueSpec(display_name, value, secret, tuple(tags))


_PROBE_FIELDS = ("method", "path")
_PROBE_METHODS = ("HEAD", "GET", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")


def parse_test_probe(body: Any) -> tuple[str, str]:
    """Body of POST /management/apis/{id}/test (optional): {"method"?, "path"?}, as
    (method, path); the defaults: HEAD of serviceUrl itself."""
    if body is None:
        return "HEAD", ""
    if not isinstance(body, dict):
        raise InvalidRequestBody("The body must be a JSON object.")
    _only_known(body, _PROBE_FIELDS, "")
    method = body.get("method", "HEAD")
    path = body.get("path", "")
    if not isinstance(method, str) or method.upper() not in _PROBE_METHODS:
        raise InvalidRequestBody(f"'method' must be one of {', '.join(_PROBE_METHODS)}.", target="method")
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise InvalidRequestBody("'path' must be a string that starts with '/'.", target="path")
    _check_text(path, "path", MAX_SERVICE_URL, InvalidRequestBody)
    if " " in path or "#" in path:
        raise InvalidRequestBody("'path' must be percent-encoded (no spaces, no fragment).", target="path")
    return method.upper(), path
