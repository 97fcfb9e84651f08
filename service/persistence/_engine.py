"""Engines for the two supported databases: embedded SQLite and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

_SQLITE_BUSY_MS = 30_000  # API, worker and beat share one file: wait for the writer instead of failing
_PG_CONNECT_SECONDS = 3


def normalise_url(url: str) -> URL:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder (``./var`` by default) when needed."""
    parsed = normalise_url(url)
    # a host that drops packets must not hold /readyz or an audit write for the OS connect timeout
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "connect_args": {"connect_timeout": _PG_CONNECT_SECONDS}}
    path = sqlite_path(parsed)
    if parsed.get_backend_name() == "sqlite":
        kwargs = {"connect_args": {"timeout": _SQLITE_BUSY_MS / 1000}}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run while one process writes; busy_timeout queues writers."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
