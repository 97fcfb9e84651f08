"""Audit retention on SQLite and on the real PostgreSQL: rows older than the window go, others stay."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.persistence import make_engine, record_audit, session_factory
from service.persistence.models import HookAudit
from service.persistence.retention import prune_audit
from service.settings import Settings
from tests.builders import NOW
from tests.service.persistence.databases import db_url, factory, pg_url, sqlite_url

__all__ = ["db_url", "factory", "pg_url", "sqlite_url"]  # fixtures for this module

CUTOFF = NOW - timedelta(days=365)


def _audit(factory: sessionmaker[Session], instance: str, at: datetime) -> None:
    record_audit(
        factory,
        secret="k",
        service="bone-health-patient-view",
        hook_instance=instance,
        issuer=None,
        patient_id="p1",
        topics=[],
        latency_ms=1.0,
        outcome="ok",
        at=at,
    )


def _instances(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return sorted(session.execute(select(HookAudit.hook_instance)).scalars())


def test_rows_older_than_the_window_are_deleted_and_the_boundary_stays(
    factory: sessionmaker[Session],
) -> None:
    _audit(factory, "two-years", NOW - timedelta(days=730))
    _audit(factory, "a-second-too-old", CUTOFF - timedelta(seconds=1))
    _audit(factory, "exactly-365-days", CUTOFF)
    _audit(factory, "last-week", NOW - timedelta(days=7))

    removed = prune_audit(factory, NOW, 365)

    assert removed == 2
    assert _instances(factory) == ["exactly-365-days", "last-week"]
    assert prune_audit(factory, NOW, 365) == 0  # idempotent


def test_a_large_backlog_goes_in_batches(factory: sessionmaker[Session]) -> None:
    for i in range(7):
        _audit(factory, f"old-{i}", NOW - timedelta(days=400 + i))
    _audit(factory, "new", NOW)

    assert prune_audit(factory, NOW, 365, batch_size=3) == 7
    assert _instances(factory) == ["new"]


@pytest.mark.parametrize("days", [0, -1])
def test_a_window_below_one_day_is_refused(sqlite_url: str, days: int) -> None:
    sessions = session_factory(make_engine(sqlite_url))
    _audit(sessions, "kept", NOW - timedelta(days=3))

    with pytest.raises(ValueError, match="at least 1"):
        prune_audit(sessions, NOW, days)
    assert _instances(sessions) == ["kept"]


def test_a_naive_now_is_refused(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="aware"):
        prune_audit(session_factory(make_engine(sqlite_url)), NOW.replace(tzinfo=None), 365)


def test_the_retention_setting_defaults_to_a_year_and_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().audit_retention_days == 365
    monkeypatch.setenv("BHCDS_AUDIT_RETENTION_DAYS", "90")
    assert Settings().audit_retention_days == 90
