"""The schema comes from Alembic, matches the models, and upgrading twice is harmless."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.persistence import make_engine, migrate
from service.persistence._engine import normalise_url
from service.persistence.models import Base


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    migrate(db_url)  # second upgrade: a no-op
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert {"feedback", "reminders", "hook_audit"} <= set(inspect(connection).get_table_names())
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_sqlite_default_creates_its_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/var/bone-health-cds.db"
    migrate(url)
    assert (tmp_path / "nested" / "var" / "bone-health-cds.db").is_file()


def test_plain_postgresql_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://root@127.0.0.1:5432/test").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://root@127.0.0.1/test").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://root@h/test").drivername == "postgresql+psycopg"
