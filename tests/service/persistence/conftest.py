"""Database fixtures: every persistence test runs on SQLite and on PostgreSQL."""

from tests.service.persistence.databases import db_url, factory, pg_url, sqlite_url

__all__ = ["db_url", "factory", "pg_url", "sqlite_url"]
