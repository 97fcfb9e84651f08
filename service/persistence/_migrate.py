"""``alembic upgrade head`` run from code, safe when several processes start at once."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from service.persistence._engine import make_engine, normalise_url, sqlite_path

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_PG_LOCK_KEY = 0x42_48_43_44  # "BHCD": one advisory lock for schema upgrades


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured in code (``service/alembic.ini`` is only for the alembic command line)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(url: str) -> None:
    """Bring the schema at ``url`` to the latest revision; a no-op when it already is."""
    engine = make_engine(url)
    try:
        with _file_lock(url), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # API, worker and beat may start together: one upgrades, the others wait and find it done.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


@contextmanager
def _file_lock(url: str) -> Iterator[None]:
    """SQLite has no advisory locks: serialise upgrades of one file with a lock file beside it."""
    path = sqlite_path(normalise_url(url))
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".migrate.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
