"""The all-in-one mode of `serve`: worker and beat as child processes, SQLite database and broker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from service.persistence import make_engine, session_factory
from service.persistence.models import utcnow
from service.reminders.runner import start_embedded
from service.settings import Settings
from tests.fhir_server import FhirServer
from tests.service.reminders.helpers import add_reminder, reminder
from tests.service.reminders.workers import wait_for

pytestmark = pytest.mark.slow


def test_embedded_worker_and_beat_deliver_a_due_reminder(
    tmp_path: Path, fhir: FhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # beat and the broker keep their files beside the database anyway
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/var/bone-health-cds.db",
        fhir_base_url=fhir.url,
        dispatch_interval_seconds=1,
        log_level="WARNING",
        reminder_recheck_chart=False,  # the chart re-read is tested in test_recheck.py
    )
    assert settings.broker_url is None
    stop = start_embedded(settings)  # migrates first, so the table exists below
    engine = make_engine(settings.database_url)
    try:
        factory = session_factory(engine)
        rid = add_reminder(factory, "embedded-1", utcnow().date() - timedelta(days=1))
        wait_for(lambda: reminder(factory, rid).status == "delivered", timeout=40, interval=0.2)
    finally:
        stop()
        engine.dispose()
    assert fhir.task_count() == 1
    assert (tmp_path / "var" / "broker.db").is_file()
    stop()  # stopping twice is harmless
