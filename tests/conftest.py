"""Shared test helpers: an app on a throwaway SQLite database at the fixed clock, the fixtures folder.

The clock and the builders of kernel values are in tests/builders.py; the FHIR server in tests/fhir_server.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.builders import NOW

REPO = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO / "tests" / "fixtures"


def service_unavailable(what: str) -> None:
    """A test that needs a real service fails under CI and skips on a developer's machine."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is not reachable, and CI must test against it")
    pytest.skip(f"{what} is not reachable")


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient for the real app with auth off, a fixed clock and its own SQLite file."""
    from service.app import create_app
    from service.settings import Settings

    clients: list[TestClient] = []

    def make(now: datetime = NOW, **overrides: object) -> TestClient:
        settings = Settings(
            auth_enabled=False,
            database_url=f"sqlite:///{tmp_path}/bhcds-{len(clients)}.db",
            **overrides,  # type: ignore[arg-type]
        )
        client = TestClient(create_app(settings, clock=lambda: now))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
