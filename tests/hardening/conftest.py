"""The real app (service.app.create_app) on a throwaway SQLite file, and FHIR servers to misbehave."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.builders import NOW
from tests.fhir_server import FhirServer, running_fhir_server

MakeApp = Callable[..., TestClient]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[MakeApp]:
    """A started TestClient of the real app: auth off unless overridden, a fixed clock."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        fields: dict[str, Any] = {
            "auth_enabled": False,
            "database_url": f"sqlite:///{tmp_path}/hardening-{len(clients)}.db",
            **overrides,
        }
        client = TestClient(create_app(Settings(**fields), clock=lambda: NOW), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    with running_fhir_server() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[FhirServer]:
    with running_fhir_server() as server:
        yield server
