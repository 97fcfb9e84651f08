"""Persistence: SQLite (embedded default) or PostgreSQL, SQLAlchemy 2 models, Alembic migrations."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.persistence._engine import make_engine, normalise_url, sqlite_path
from service.persistence._migrate import migrate
from service.persistence._upsert import insert_ignore
from service.persistence.audit import add_audit, audit_secret, patient_hash, record_audit
from service.persistence.feedback import SqlFeedbackStore
from service.persistence.models import Feedback, HookAudit, Reminder, ReminderStatus


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded rows usable after commit (callers read them back)."""
    return sessionmaker(engine, expire_on_commit=False)


__all__ = [
    "Feedback",
    "HookAudit",
    "Reminder",
    "ReminderStatus",
    "SqlFeedbackStore",
    "add_audit",
    "audit_secret",
    "insert_ignore",
    "make_engine",
    "migrate",
    "normalise_url",
    "patient_hash",
    "record_audit",
    "session_factory",
    "sqlite_path",
]
