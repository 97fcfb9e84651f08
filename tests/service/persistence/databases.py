"""Real databases for the persistence and reminder tests.

PostgreSQL gets a schema of its own per test run (parallel sessions on this machine share the
server), dropped at the end; SQLite gets a file in tmp_path. Redis isolation is by key prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from service.persistence import make_engine, migrate, session_factory
from service.persistence._engine import normalise_url
from tests.conftest import service_unavailable

PG_SERVER = os.environ.get("BHCDS_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BHCDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = ("suppressions", "issued_cards", "feedback", "reminders", "hook_audit")


def _libpq(url: str) -> str:
    return normalise_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(_libpq(PG_SERVER), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A migrated schema of its own; yields a URL whose search_path points at it."""
    schema = f"bhcds_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(PG_SERVER), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(_libpq(PG_SERVER), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def truncate_postgres(url: str) -> None:
    options = normalise_url(url).query["options"]
    with psycopg.connect(_libpq(PG_SERVER), autocommit=True, options=str(options)) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")


def drop_redis_namespace(namespace: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)


# Fixtures, imported by the conftest of each test folder that needs them.


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not postgres_reachable():
        service_unavailable("PostgreSQL at 127.0.0.1:5432")
    with postgres_schema() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not redis_reachable():
        service_unavailable("Redis at 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/var/bhcds.db"
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    url = str(request.getfixturevalue("pg_url"))
    truncate_postgres(url)
    return url


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()
