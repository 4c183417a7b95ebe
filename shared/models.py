"""Frozen dataclasses of the domain and their wire resources (camelCase out); request bodies
come in through shared/bodies.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.ca_material import CaInfo
from shared.pkcs12 import CertificateInfo


@dataclass(frozen=True)
class Certificate:
    """A stored certificate's metadata; `version` names the blob that holds its material."""

    id: str
    version: str
    info: CertificateInfo
    etag: str = ""
    used_by: tuple[str, ...] = ()

    def to_resource(self, *, now: datetime | None = None) -> dict[str, Any]:
        info = self.info
        return {
            "id": f"/certificates/{self.id}",
            "name": self.id,
            "type": "certificates",
            "properties": {
                "subject": info.subject,
                "thumbprint": info.thumbprint,
                "expirationDate": _iso(info.expiration),
                "issuer": info.issuer,
                "notBefore": _iso(info.not_before),
                "keyType": info.key_type,
                "chainLength": info.chain_length,
                "usedBy": list(self.used_by),
                **_certificate_facts(info, now or datetime.now(UTC)),
            },
        }


EXPIRES_SOON = timedelta(days=30)


def _certificate_facts(info: CertificateInfo, now: datetime) -> dict[str, Any]:
    """The read-only facts computed when read (days left, warnings); those that rows stored
    before they were recorded do not hold are left out rather than guessed."""
    left = info.expiration - now
    facts: dict[str, Any] = {}
    if info.thumbprint_sha256 is not None:
        facts["thumbprintSha256"] = info.thumbprint_sha256
    if info.subject_alternative_names is not None:
        facts["subjectAlternativeNames"] = list(info.subject_alternative_names)
    facts["daysToExpiry"] = left // timedelta(days=1)
    warnings = ["ExpiresSoon"] if left <= EXPIRES_SOON else []
    if info.client_auth is False:
        warnings.append("NotClientAuth")
    if info.self_signed:
        warnings.append("SelfSigned")
    facts["warnings"] = warnings
    return facts


@dataclass(frozen=True)
class CaCertificate:
    """A public CA certificate that APIs may trust (tls.caCertificateIds); `etag` versions it."""

    id: str
    info: CaInfo
    pem: str
    etag: str = ""
    used_by: tuple[str, ...] = ()

    def to_resource(self) -> dict[str, Any]:
        info = self.info
        return {
            "id": f"/caCertificates/{self.id}",
            "name": self.id,
            "type": "caCertificates",
            "properties": {
                "subject": info.subject,
                "issuer": info.issuer,
                "thumbprint": info.thumbprint,
                "expirationDate": _iso(info.expiration),
                "isCa": info.is_ca,
                "usedBy": list(self.used_by),
            },
        }


@dataclass(frozen=True)
class TlsSettings:
    """How the backend's certificate is checked. Hashable: part of the session key."""

    validate_certificate_chain: bool = True
    validate_certificate_name: bool = True
    ca_certificate_ids: tuple[str, ...] = ()
    # Normalised: upper-case hex without separators (SHA-1 or SHA-256).
    server_certificate_thumbprints: tuple[str, ...] = ()
    server_name: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "validateCertificateChain": self.validate_certificate_chain,
            "validateCertificateName": self.validate_certificate_name,
        }
        if self.ca_certificate_ids:
            wire["caCertificateIds"] = list(self.ca_certificate_ids)
        if self.server_certificate_thumbprints:
            wire["serverCertificateThumbprints"] = list(self.server_certificate_thumbprints)
        if self.server_name is not None:
            wire["serverName"] = self.server_name
        return wire


# `{{namedValueId}}` in a credential value: replaced by the named value's value when forwarded.
NAMED_VALUE_REFERENCE = re.compile(r"\{\{([A-Za-z0-9][A-Za-z0-9._-]{0,79})\}\}")
Pairs = tuple[tuple[str, tuple[str, ...]], ...]  # a name and its values, in the body's order


@dataclass(frozen=True)
class Authorization:
    scheme: str
    parameter: str


@dataclass(frozen=True)
class BackendCredentials:
    """APIM's Backend credentials other than the certificate: sent with every forwarded call,
    replacing the client's header or query parameter of the same name."""

    authorization: Authorization | None = None
    header: Pairs = ()
    query: Pairs = ()

    def texts(self) -> list[str]:
        texts = [self.authorization.parameter] if self.authorization else []
        return texts + [v for _, values in (*self.header, *self.query) for v in values]

    def named_value_ids(self) -> frozenset[str]:
        return frozenset(m for text in self.texts() for m in NAMED_VALUE_REFERENCE.findall(text))

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {}
        if self.authorization is not None:
            auth = self.authorization
            wire["authorization"] = {"scheme": auth.scheme, "parameter": auth.parameter}
        if self.header:
            wire["header"] = {name: list(values) for name, values in self.header}
        if self.query:
            wire["query"] = {name: list(values) for name, values in self.query}
        return wire


@dataclass(frozen=True)
class ApiSpec:
    """An API as a client asks for it (the body of PUT /management/apis/{apiId})."""

    display_name: str
    path: str
    service_url: str
    certificate_id: str | None
    tls: TlsSettings = field(default_factory=TlsSettings)
    backend_credentials: BackendCredentials = field(default_factory=BackendCredentials)


@dataclass(frozen=True)
class Api:
    id: str
    spec: ApiSpec
    etag: str = ""

    def to_resource(self) -> dict[str, Any]:
        spec = self.spec
        properties: dict[str, Any] = {
            "displayName": spec.display_name,
            "path": spec.path,
            "serviceUrl": spec.service_url,
            "tls": spec.tls.to_wire(),
        }
        if spec.certificate_id is not None:
            properties["credentials"] = {"certificateId": spec.certificate_id}
        if spec.backend_credentials.to_wire():
            properties.setdefault("credentials", {}).update(spec.backend_credentials.to_wire())
        return {"id": f"/apis/{self.id}", "name": self.id, "type": "apis", "properties": properties}


@dataclass(frozen=True)
class Page:
    """One page of a list: `count` is the total across all pages, as in APIM."""

    items: tuple[dict[str, Any], ...]
    count: int
    next_skip_token: str | None


@dataclass(frozen=True)
class Upload:
    data: bytes
    password: str


# The properties each object of a body may hold: any other is refused, never dropped. Only


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class NamedValueSpec:
    """A named value as a client gives it (PUT /management/namedValues/{id})."""

    display_name: str
    value: str
    secret: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class NamedValue:
    id: str
    spec: NamedValueSpec
    etag: str = ""

    def to_resource(self) -> dict[str, Any]:
        """A secret value is never in a response: only whether it is secret."""
        spec = self.spec
        properties: dict[str, Any] = {
            "displayName": spec.display_name,
            "secret": spec.secret,
            "tags": list(spec.tags),
        }
        if not spec.secret:
            properties["value"] = spec.value
        return {
            "id": f"/namedValues/{self.id}",
            "name": self.id,
            "type": "namedValues",
            "properties": properties,
        }
