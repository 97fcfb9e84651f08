"""End to end on PostgreSQL and Redis: dispatcher → real Celery worker process → loopback FHIR server."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.celery_app import make_celery
from service.persistence import make_engine, session_factory
from service.persistence.models import Reminder, utcnow
from service.reminders.dispatch import dispatch_due
from service.reminders.tasks import DELIVER_TASK
from service.settings import Settings
from tests.fhir_server import FhirServer, running_fhir_server
from tests.service.persistence.databases import drop_redis_namespace, truncate_postgres
from tests.service.reminders.helpers import add_reminder, reminder
from tests.service.reminders.workers import Worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

# SIGKILL rounds: 20 when BHCDS_TEST_WORKER_KILLS=20 (or more); a quicker default keeps the suite fast.
KILLS = int(os.environ.get("BHCDS_TEST_WORKER_KILLS", "6"))


def _today() -> date:
    return utcnow().date()


def _settings(db: str, broker: str, fhir: FhirServer, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "database_url": db,
        "broker_url": broker,
        "celery_namespace": f"bhcds-test-{uuid.uuid4().hex[:10]}",
        "fhir_base_url": fhir.url,
        "delivery_backoff_seconds": 0.05,
        "delivery_backoff_max_seconds": 0.5,
        "delivery_timeout_seconds": 5.0,
        "delivery_max_attempts": 5,
        "log_level": "INFO",
        "reminder_recheck_chart": False,  # the chart re-read is tested in test_recheck.py
    }
    return Settings(**{**base, **overrides})  # type: ignore[arg-type]


class Pipeline:
    def __init__(self, settings: Settings, fhir: FhirServer) -> None:
        self.settings = settings
        self.fhir = fhir
        self.engine = make_engine(settings.database_url)
        self.factory: sessionmaker[Session] = session_factory(self.engine)
        self.deliver = make_celery(settings).tasks[DELIVER_TASK]

    def dispatch(self, lease: timedelta = timedelta(minutes=15)) -> int:
        return dispatch_due(
            self.factory, lambda i: self.deliver.apply_async(args=[i]), now=utcnow(), lease=lease
        )

    def wait_status(self, reminder_id: int, status: str, timeout: float = 20.0) -> None:
        wait_for(lambda: reminder(self.factory, reminder_id).status == status, timeout)


@pytest.fixture(scope="module")
def pipeline(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with running_fhir_server() as fhir:
        settings = _settings(pg_url, redis_url, fhir)
        line = Pipeline(settings, fhir)
        worker = Worker(settings, tmp_path_factory.mktemp("worker") / "worker.log")
        try:
            worker.wait_ready()
            yield line
        finally:
            worker.stop()
            line.engine.dispose()
            drop_redis_namespace(settings.celery_namespace)


@pytest.fixture
def line(pipeline: Pipeline) -> Pipeline:
    truncate_postgres(pipeline.settings.database_url)
    return pipeline


def test_due_reminder_becomes_exactly_one_task(line: Pipeline) -> None:
    rid = add_reminder(line.factory, "e2e-1", _today())
    later = add_reminder(line.factory, "e2e-2", _today() + timedelta(days=1))
    assert line.dispatch() == 1
    line.wait_status(rid, "delivered")
    assert line.fhir.posts_for("e2e-1") == 1 and line.fhir.posts_for("e2e-2") == 0
    assert line.dispatch() == 0  # nothing new: delivered rows are never dispatched again
    time.sleep(0.5)
    assert line.fhir.posts_for("e2e-1") == 1
    assert reminder(line.factory, later).status == "pending"


def test_unavailable_server_is_retried_until_the_task_is_created(line: Pipeline) -> None:
    line.fhir.script["e2e-503"] = [503, 503, 503]
    rid = add_reminder(line.factory, "e2e-503", _today() - timedelta(days=3))
    assert line.dispatch() == 1
    line.wait_status(rid, "delivered")
    row = reminder(line.factory, rid)
    assert row.attempts == 4 and row.last_error is None
    assert line.fhir.posts_for("e2e-503") == 4
    assert sum(1 for key in line.fhir.tasks if key[1].startswith("e2e-503|")) == 1


def test_rejected_task_fails_and_is_not_retried(line: Pipeline) -> None:
    line.fhir.script["e2e-400"] = [400, 400]
    rid = add_reminder(line.factory, "e2e-400", _today())
    assert line.dispatch() == 1
    line.wait_status(rid, "failed")
    time.sleep(0.5)
    row = reminder(line.factory, rid)
    assert (row.attempts, line.fhir.posts_for("e2e-400")) == (1, 1)
    assert row.last_error is not None and "HTTP 400" in row.last_error


def test_killed_workers_lose_no_reminder_and_duplicate_none(
    pg_url: str, redis_url: str, tmp_path: Path, pipeline: Pipeline
) -> None:
    """SIGKILL the worker while it waits on a slow FHIR server, again and again: every reminder still
    ends delivered, and conditional create keeps it to one Task each. Recovery is the dispatcher's
    lease (Redis would also redeliver, but only after its hour-long visibility timeout)."""
    truncate_postgres(pg_url)
    with running_fhir_server(FhirServer(delay=0.3)) as fhir:
        settings = _settings(pg_url, redis_url, fhir)
        line = Pipeline(settings, fhir)
        ids = [
            add_reminder(line.factory, f"kill-{i}", _today()) for i in range(KILLS + 8)
        ]  # more than the kills: each round finds work
        lease = timedelta(seconds=1.5)
        stop = threading.Event()

        def dispatcher() -> None:
            while not stop.is_set():
                line.dispatch(lease)
                stop.wait(0.25)

        beat = threading.Thread(target=dispatcher, daemon=True)
        beat.start()
        worker: Worker | None = None
        try:
            for round_ in range(KILLS):
                fhir.in_flight.clear()
                worker = Worker(settings, tmp_path / f"worker-{round_}.log")
                worker.wait_ready()
                wait_for(fhir.in_flight.is_set, timeout=15)
                worker.kill()
            worker = Worker(settings, tmp_path / "worker-last.log")
            worker.wait_ready()
            wait_for(lambda: _delivered(line.factory) == len(ids), timeout=60)
        finally:
            stop.set()
            beat.join()
            if worker is not None:
                worker.stop()
            line.engine.dispose()
            drop_redis_namespace(settings.celery_namespace)
        assert fhir.task_count() == len(ids)  # one Task per reminder, none twice
        assert len(fhir.posts) >= len(ids) + KILLS - 1  # the killed requests were really resent


def _delivered(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.execute(select(func.count()).where(Reminder.status == "delivered")).scalar_one())
