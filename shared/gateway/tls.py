"""The only module that turns decrypted key material into an `ssl.SSLContext`.

The PEM bundle goes through an anonymous memory file (`os.memfd_create`), never a path on
disk: `SSLContext.load_cert_chain` only reads files, and /proc/self/fd/N is a file that
lives in RAM and disappears with its descriptor.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from shared.models import TlsSettings


class StrictEofContext(ssl.SSLContext):
    """A TCP close without TLS close_notify is an error, not the end of the data: else a
    close-delimited answer cut short looks complete (RFC 9112 9.8, RFC 8446 6.1)."""

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["suppress_ragged_eofs"] = False
        return super().wrap_socket(*args, **kwargs)


def client_context(
    pem_bundle: bytes | None, tls: TlsSettings, *, ca_file: str | None, ca_data: str | None = None
) -> ssl.SSLContext:
    """A client context whose trust is exactly: the API's CA certificates `ca_data` (PEM), else
    `ca_file`, else the system store, when the chain is validated; nothing checked when it is
    not; plus the client certificate."""
    ctx = StrictEofContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.validate_certificate_chain:
        if ca_data:
            ctx.load_verify_locations(cadata=ca_data)
        elif ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        ctx.check_hostname = tls.validate_certificate_name
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if pem_bundle is not None:
        _load_chain_from_memory(ctx, pem_bundle)
    return ctx


def unverified_context(pem_bundle: bytes | None) -> ssl.SSLContext:
    """The same identity (`pem_bundle`, or none) with nothing checked: for the dry run, to read
    the backend's chain when the real context refuses it, and to see whether the backend
    requires a client certificate."""
    return client_context(
        pem_bundle,
        TlsSettings(validate_certificate_chain=False, validate_certificate_name=False),
        ca_file=None,
    )


def _load_chain_from_memory(ctx: ssl.SSLContext, pem_bundle: bytes) -> None:
    fd = os.memfd_create("certgate-client-cert", os.MFD_CLOEXEC)
    try:
        os.write(fd, pem_bundle)
        ctx.load_cert_chain(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
