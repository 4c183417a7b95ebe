from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.client import Management
from tests.services import DevHost
from tests.support.pki import CA, Issued


@pytest.fixture
def mgmt(devhost: DevHost) -> Management:
    return Management(devhost.url)


@pytest.fixture(scope="session")
def ca() -> CA:
    return CA.new("certgate test root")


@pytest.fixture(scope="session")
def client_rsa(ca: CA) -> Issued:
    return ca.issue_client("client-rsa", kind="rsa")


@pytest.fixture(scope="session")
def client_ec(ca: CA) -> Issued:
    return ca.issue_client("client-ec", kind="ec")


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
