"""Storage outcomes the services act on, and the translation of azure.core errors into them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from shared.errors import CertgateError, StorageUnavailable
from shared.telemetry import STORAGE_CALLS as STORAGE_CALLS_METRIC

log = logging.getLogger(__name__)


class CallCounter:
    """Storage calls made by this process: the benchmark's 'storage calls per request'."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1
        STORAGE_CALLS_METRIC.add(1)  # certgate.storage.calls


STORAGE_CALLS = CallCounter()


class EntityNotFound(Exception):
    """The entity or blob does not exist."""


class EntityExists(Exception):
    """A create found the entity or blob already there."""


class EtagMismatch(Exception):
    """A conditional write or delete lost a race: the entity changed since it was read."""


@contextmanager
def storage_errors(operation: str) -> Iterator[None]:
    """Map azure.core exceptions, most specific first, onto the outcomes above."""
    STORAGE_CALLS.add()
    try:
        yield
    except ResourceNotFoundError as exc:
        raise EntityNotFound(operation) from exc
    except ResourceExistsError as exc:
        raise EntityExists(operation) from exc
    except ResourceModifiedError as exc:
        raise EtagMismatch(operation) from exc
    except HttpResponseError as exc:
        if exc.status_code == 412:
            raise EtagMismatch(operation) from exc
        if exc.status_code == 409:
            raise EntityExists(operation) from exc
        if exc.status_code == 404:
            raise EntityNotFound(operation) from exc
        log.warning("storage refused %s: HTTP %s", operation, exc.status_code)
        if exc.status_code is not None and exc.status_code < 500 and exc.status_code not in (408, 429):
            # Storage is there and said no: a request certgate should not have made.
            raise CertgateError(
                f"Storage rejected the request ({operation}: HTTP {exc.status_code})."
            ) from exc
        raise StorageUnavailable(
            f"Storage refused the request ({operation}: HTTP {exc.status_code}); try again later."
        ) from exc
    except AzureError as exc:
        log.warning("storage unreachable during %s: %s", operation, type(exc).__name__)
        raise StorageUnavailable(f"Storage is unreachable ({operation}); try again later.") from exc
