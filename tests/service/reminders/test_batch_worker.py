"""Batched delivery through real Celery worker processes on PostgreSQL and Redis (never eager mode):
the dispatcher enqueues batches, each reminder ends as single delivery ends it, and a batch delivered
again, after it finished or after its worker was killed mid-batch, makes no Task twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.celery_app import BoneHealthCelery, make_celery
from service.persistence import make_engine, session_factory
from service.persistence.models import Reminder
from service.reminders.scan import PATIENT_TYPES
from service.reminders.tasks import DELIVER_BATCH_TASK, run_dispatch
from service.settings import Settings
from tests.fhir_server import FhirServer, running_fhir_server
from tests.service.persistence.databases import drop_redis_namespace, truncate_postgres
from tests.service.reminders.helpers import add_reminder, reminder
from tests.service.reminders.test_worker import _settings as worker_settings
from tests.service.reminders.test_worker import _today
from tests.service.reminders.workers import Worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

SHORT_VISIBILITY = "tests.service.reminders.short_visibility_app:app"


def _settings(db: str, broker: str, fhir: FhirServer, **overrides: object) -> Settings:
    """The single-delivery pipeline's settings, with batches of 10."""
    return worker_settings(db, broker, fhir, **{"delivery_batch_size": 10, **overrides})


@dataclass
class Line:
    settings: Settings
    fhir: FhirServer
    app: BoneHealthCelery
    factory: sessionmaker[Session]

    def status(self, reminder_id: int) -> str:
        return reminder(self.factory, reminder_id).status

    def count(self, status: str) -> int:
        with self.factory() as session:
            query = select(func.count()).where(Reminder.status == status)
            return int(session.execute(query).scalar_one())


@pytest.fixture
def line(pg_url: str, redis_url: str) -> Iterator[Line]:
    truncate_postgres(pg_url)
    with running_fhir_server(FhirServer(delay=0.2)) as fhir:
        settings = _settings(pg_url, redis_url, fhir)
        engine = make_engine(pg_url)
        try:
            yield Line(settings, fhir, make_celery(settings), session_factory(engine))
        finally:
            engine.dispose()
            drop_redis_namespace(settings.celery_namespace)


def test_a_batch_retries_fails_cancels_and_delivers_each_as_alone(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    truncate_postgres(pg_url)
    with running_fhir_server() as fhir:
        # the chart re-read is on: "gone" is deceased on the server, the others it does not know
        # (a chart that cannot be read never stops a reminder)
        for resource_type in PATIENT_TYPES:
            fhir.resources.setdefault(resource_type, [])
        fhir.add({"resourceType": "Patient", "id": "gone", "deceasedDateTime": "2026-11-01"})
        fhir.script["busy"] = [503]
        fhir.script["rejected"] = [400]
        settings = _settings(pg_url, redis_url, fhir, reminder_recheck_chart=True)
        engine = make_engine(pg_url)
        factory = session_factory(engine)
        patients = ("ok1", "busy", "rejected", "gone", "ok2", "ok3")
        ids = {p: add_reminder(factory, p, _today() - timedelta(days=1)) for p in patients}
        worker = Worker(settings, tmp_path / "worker.log")
        try:
            worker.wait_ready()
            assert run_dispatch(make_celery(settings)) == 6
            finals = {"delivered", "failed", "cancelled"}
            wait_for(lambda: all(reminder(factory, i).status in finals for i in ids.values()), 30)
            rows = {p: reminder(factory, rid) for p, rid in ids.items()}
        finally:
            worker.stop()
            engine.dispose()
            drop_redis_namespace(settings.celery_namespace)
    assert {p: (r.status, r.attempts) for p, r in rows.items()} == {
        "ok1": ("delivered", 1),
        "busy": ("delivered", 2),  # 503, then its own retry
        "rejected": ("failed", 1),
        "gone": ("cancelled", 1),
        "ok2": ("delivered", 1),
        "ok3": ("delivered", 1),
    }
    assert rows["busy"].last_error is None and "HTTP 400" in (rows["rejected"].last_error or "")
    assert (fhir.posts_for("busy"), fhir.posts_for("rejected"), fhir.posts_for("gone")) == (2, 1, 0)
    assert fhir.task_count() == 4  # ok1, ok2, ok3, busy: one each
    log = (tmp_path / "worker.log").read_text()
    assert DELIVER_BATCH_TASK in log  # the six went as a batch, not six tasks


def test_a_batch_delivered_again_after_it_finished_sends_nothing(line: Line, tmp_path: Path) -> None:
    line.fhir.delay = 0.0
    ids = [add_reminder(line.factory, f"again-{i}", _today()) for i in range(5)]
    worker = Worker(line.settings, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        assert run_dispatch(line.app) == 5
        wait_for(lambda: line.count("delivered") == 5, 20)
        # the broker hands the same batch out again (its acknowledgement was lost)
        line.app.tasks[DELIVER_BATCH_TASK].apply_async(args=[ids])
        wait_for(
            lambda: "0 delivered, 0 to retry, 0 failed, 0 cancelled, 5 skipped" in worker.log.read_text(), 20
        )
    finally:
        worker.stop()
    assert len(line.fhir.posts) == 5 and line.fhir.task_count() == 5
    assert [reminder(line.factory, rid).attempts for rid in ids] == [1] * 5


def test_a_batch_whose_worker_was_killed_is_finished_by_another_once(line: Line, tmp_path: Path) -> None:
    """SIGKILL mid-batch (a Task created, the outcomes not written): the broker hands the batch to the
    next worker once its visibility timeout passes, and every reminder ends with one Task."""
    ids = [add_reminder(line.factory, f"killed-{i}", _today()) for i in range(5)]
    first = Worker(line.settings, tmp_path / "first.log", app=SHORT_VISIBILITY)
    first.wait_ready()
    assert run_dispatch(line.app) == 5
    wait_for(line.fhir.in_flight.is_set, timeout=15)
    first.kill()
    assert line.count("delivered") == 0  # a batch writes its outcomes at its end
    # kombu restores unacknowledged messages past their visibility timeout (2 s here) when a consumer
    # starts: the next worker starts after it, so the killed batch comes back to it
    time.sleep(3)
    second = Worker(line.settings, tmp_path / "second.log", app=SHORT_VISIBILITY)
    try:
        second.wait_ready()
        wait_for(lambda: line.count("delivered") == 5, 30)
    finally:
        second.stop()
    assert line.fhir.task_count() == 5
    assert len(line.fhir.posts) >= 6  # the killed worker's request was really resent
    assert all(line.status(rid) == "delivered" for rid in ids)
