"""Backend failures as certgate's errors: the one place where socket, TLS and urllib3
exceptions are translated, most specific first: the deadline, our own checks of the backend's
certificate, TLS anywhere in the chain, refused connections, timeouts, answers that are not
valid HTTP, then the rest."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3

from shared.errors import BackendTimeout, BackendTlsError, BackendUnreachable, CertgateError
from shared.gateway.connections import InvalidAnswer
from shared.gateway.peer_checks import CertificateRefused
from shared.gateway.watchdog import Watch


@contextmanager
def backend_errors(watch: Watch, timeout: float) -> Iterator[None]:
    try:
        yield
    except CertgateError:
        raise
    except Exception as exc:
        raise translate(exc, watch, timeout) from exc


def translate(exc: BaseException, watch: Watch, timeout: float) -> CertgateError:
    if watch.expired:
        return BackendTimeout(f"The backend did not answer within {timeout:g} s.")
    refused = _find(exc, (CertificateRefused,))
    if refused is not None:
        return BackendTlsError(str(refused))
    invalid = _find(exc, (InvalidAnswer, http.client.BadStatusLine, http.client.LineTooLong))
    if invalid is not None:
        return BackendUnreachable(f"The backend's answer is not valid HTTP/1.1: {_text(invalid)}.")
    if _find(exc, (ssl.SSLError,)) is not None or isinstance(exc, urllib3.exceptions.SSLError):
        if watch.fresh and not watch.answered:
            # In the handshake, or right after it: under TLS 1.3 a server that refuses the
            # client certificate says so in its first record after the client's Finished.
            return BackendTlsError(_tls_message(exc))
        return BackendUnreachable(
            f"The backend's TLS connection failed after the handshake ({_reason(exc)}): "
            "its answer is incomplete."
        )
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return BackendUnreachable(f"The backend cannot be reached: {_reason(exc)}.")
    if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return BackendTimeout(f"The backend did not answer within {timeout:g} s.")
    if isinstance(exc, (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)):
        return BackendUnreachable(f"The backend cannot be reached: {_reason(exc)}.")
    return CertgateError("An unexpected error occurred.")


def _text(exc: BaseException) -> str:
    if isinstance(exc, http.client.BadStatusLine):
        return "a bad status line"
    if isinstance(exc, http.client.LineTooLong):
        return "a line too long"
    return str(exc)


def _find(exc: BaseException, types: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of `types` in the chain: causes, contexts, urllib3's wrapped
    reasons and the arguments that carry an exception."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, types):
            return current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return None


def _find_ssl_error(exc: BaseException) -> ssl.SSLError | None:
    found = _find(exc, (ssl.SSLError,))
    return found if isinstance(found, ssl.SSLError) else None


def _tls_message(exc: BaseException) -> str:
    err = _find_ssl_error(exc)
    text = str(err or exc)
    if isinstance(err, ssl.SSLCertVerificationError):
        if "hostname" in text.lower() or "IP address mismatch" in text:
            return f"The backend's certificate does not match its host name ({err.verify_message})."
        return f"The backend's certificate is not trusted ({err.verify_message})."
    if isinstance(err, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        # The backend closed the connection inside the handshake instead of completing it: what
        # strict mTLS servers do when they refuse the client certificate (the alert that says
        # so is often lost to the reset).
        return (
            "The backend refused our client certificate: it closed the connection during the TLS handshake."
        )
    lowered = text.lower()
    if any(
        m in lowered
        for m in (
            "certificate required",
            "bad certificate",
            "unknown ca",
            "handshake failure",
            "certificate unknown",
            "access denied",
            "decrypt error",
            "unsupported certificate",
        )
    ):
        return f"The backend refused our client certificate ({_reason(exc)})."
    return f"The TLS handshake with the backend failed ({_reason(exc)})."


def _reason(exc: BaseException) -> str:
    err = _find_ssl_error(exc)
    if err is not None:
        return err.reason or type(err).__name__
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, ConnectionError) and text:
        return text
    return type(exc).__name__
