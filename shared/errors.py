"""The one error tree: each class carries a contract error code and its HTTP status.

Foreign exceptions (azure.core, requests) are translated into these at two boundaries only:
`shared.storage` and `shared.gateway.forwarding`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str
    target: str | None = None


class CertgateError(Exception):
    """Base of every error the contract names; `status` is the HTTP status it maps to."""

    status = 500
    code = "InternalError"

    def __init__(
        self, message: str, *, target: str | None = None, details: tuple[ErrorDetail, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.target = target
        self.details = details


class ConfigurationError(Exception):
    """A setting is missing or malformed: the app must not start."""


class _BadRequest(CertgateError):
    status = 400


class InvalidIdentifier(_BadRequest):
    code = "InvalidIdentifier"


class InvalidRequestBody(_BadRequest):
    code = "InvalidRequestBody"


class InvalidQueryParameter(_BadRequest):
    code = "InvalidQueryParameter"


class InvalidCertificate(_BadRequest):
    code = "InvalidCertificate"


class InvalidPassword(_BadRequest):
    code = "InvalidPassword"


class MissingPrivateKey(_BadRequest):
    code = "MissingPrivateKey"


class CertificateExpired(_BadRequest):
    code = "CertificateExpired"


class CertificateNotFound(_BadRequest):
    code = "CertificateNotFound"


class NamedValueNotFound(_BadRequest):
    code = "NamedValueNotFound"


class InvalidServiceUrl(_BadRequest):
    code = "InvalidServiceUrl"


class InvalidPath(_BadRequest):
    code = "InvalidPath"


class InvalidHeader(_BadRequest):
    """A gateway request header that cannot be written to the backend (not a token, or a
    control character in its value); the host in front normally refuses these first."""

    code = "InvalidHeader"


class Unauthorized(CertgateError):
    status = 401
    code = "Unauthorized"


class ResourceNotFound(CertgateError):
    status = 404
    code = "ResourceNotFound"


class ApiNotFound(CertgateError):
    status = 404
    code = "ApiNotFound"


class CertificateInUse(CertgateError):
    status = 409
    code = "CertificateInUse"


class NamedValueInUse(CertgateError):
    status = 409
    code = "NamedValueInUse"


class PathInUse(CertgateError):
    status = 409
    code = "PathInUse"


class PreconditionFailed(CertgateError):
    status = 412
    code = "PreconditionFailed"


class PayloadTooLarge(CertgateError):
    status = 413
    code = "PayloadTooLarge"


class BackendTlsError(CertgateError):
    status = 502
    code = "BackendTlsError"


class BackendUnreachable(CertgateError):
    status = 502
    code = "BackendUnreachable"


class LoopDetected(CertgateError):
    status = 508
    code = "LoopDetected"


class KeyRingMismatch(CertgateError):
    """A stored blob is sealed under a key id that CERTGATE_ENCRYPTION_KEYS lacks (or holds
    another key under that id). The message names the key id, never the key."""

    code = "KeyRingMismatch"


class StorageUnavailable(CertgateError):
    status = 503
    code = "StorageUnavailable"


class BackendTimeout(CertgateError):
    status = 504
    code = "BackendTimeout"
