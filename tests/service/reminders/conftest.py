"""Fixtures: databases (SQLite and PostgreSQL), Redis, and a loopback FHIR server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fhir_server import FhirServer, running_fhir_server
from tests.service.persistence.databases import db_url, factory, pg_url, redis_url, sqlite_url

__all__ = ["db_url", "factory", "fhir", "pg_url", "redis_url", "sqlite_url"]


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    with running_fhir_server() as server:
        yield server
