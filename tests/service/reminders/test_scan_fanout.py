"""The panel scan fanned out over real Celery workers (PostgreSQL, Redis, a loopback FHIR server):
the scan task enqueues batches, every candidate is evaluated once per run, the run's counters add
up, and a worker SIGKILLed mid-batch loses no patient."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.celery_app import make_celery
from service.persistence import make_engine, session_factory
from service.persistence.models import ScanBatch, ScanRun
from service.reminders.scan import BATCH_SIZE
from service.reminders.tasks import SCAN_TASK
from service.settings import Settings
from tests.fhir_server import FhirServer, running_fhir_server
from tests.service.persistence.databases import drop_redis_namespace
from tests.service.reminders.workers import Worker, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

PATIENTS = [f"panel-{i:02d}" for i in range(30)]
GONE = "panel-gone"  # a candidate whose Patient read answers 404: counted as failed
PAGE = 10


class Panel:
    """30 patients on denosumab (and one gone), listed in pages of 10 for every code search."""

    def __init__(self, base: str, delay: float = 0.0) -> None:
        self.base = base
        self.delay = delay
        self.reads: Counter[str] = Counter()  # Patient reads: one per evaluation
        self.lock = threading.Lock()

    def __call__(
        self, path: str, query: dict[str, list[str]], _h: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if path == "/fhir/MedicationRequest" and ("code" in query or "page" in query):
            page = int(query.get("page", ["0"])[0])
            everyone = [*PATIENTS, GONE]
            chunk = everyone[page * PAGE : (page + 1) * PAGE]
            more = (page + 1) * PAGE < len(everyone)
            return 200, _bundle(
                [
                    {"resourceType": "MedicationRequest", "subject": {"reference": f"Patient/{p}"}}
                    for p in chunk
                ],
                f"{self.base}/MedicationRequest?page={page + 1}" if more else None,
            )
        if path.startswith("/fhir/Patient/"):
            patient = path.rsplit("/", 1)[1]
            with self.lock:
                self.reads[patient] += 1
            if self.delay:
                time.sleep(self.delay)
            if patient == GONE:
                return 404, {"resourceType": "OperationOutcome"}
            return 200, {
                "resourceType": "Patient",
                "id": patient,
                "gender": "female",
                "birthDate": "1950-01-01",
            }
        return 200, _bundle([], None)


def _bundle(resources: list[dict[str, Any]], next_url: str | None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


class Setup:
    def __init__(self, pg_url: str, redis_url: str, fhir: FhirServer, logs: Path) -> None:
        self.settings = Settings(
            database_url=pg_url,
            broker_url=redis_url,
            celery_namespace=f"bhcds-test-{uuid.uuid4().hex[:10]}",
            fhir_base_url=fhir.url,
            log_level="INFO",
            reminder_recheck_chart=False,
        )
        self.fhir = fhir
        self.logs = logs
        self.engine = make_engine(pg_url)
        self.factory: sessionmaker[Session] = session_factory(self.engine)
        self.app = make_celery(self.settings)
        self.workers: list[Worker] = []
        with self.factory() as session:
            self.runs_before = session.scalar(select(func.coalesce(func.max(ScanRun.id), 0)))

    def worker(self, app: str = "service.celery_app:app") -> Worker:
        worker = Worker(self.settings, self.logs / f"worker-{len(self.workers)}.log", app=app)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def run(self) -> ScanRun | None:
        with self.factory() as session:
            return session.scalars(select(ScanRun).where(ScanRun.id > self.runs_before)).one_or_none()

    def batches(self, run_id: int) -> int:
        with self.factory() as session:
            return (
                session.scalar(select(func.count()).select_from(ScanBatch).where(ScanBatch.run_id == run_id))
                or 0
            )

    def wait_finished(self, timeout: float) -> ScanRun:
        wait_for(lambda: (run := self.run()) is not None and run.finished is not None, timeout, interval=0.2)
        run = self.run()
        assert run is not None
        return run

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.engine.dispose()
        drop_redis_namespace(self.settings.celery_namespace)


@pytest.fixture
def setup(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Setup]:
    with running_fhir_server() as fhir:
        made = Setup(pg_url, redis_url, fhir, tmp_path)
        try:
            yield made
        finally:
            made.close()


def test_the_scan_enqueues_batches_and_every_patient_is_evaluated_once(setup: Setup) -> None:
    panel = Panel(setup.fhir.url)
    setup.fhir.get_handler = panel
    setup.worker()
    setup.worker()

    setup.app.tasks[SCAN_TASK].apply_async()
    run = setup.wait_finished(timeout=60)

    assert (run.candidates, run.evaluated, run.failed) == (31, 30, 1)
    assert run.evaluated + run.failed == run.candidates and run.finished >= run.started
    assert setup.batches(run.id) == math.ceil(31 / BATCH_SIZE) >= 2
    assert panel.reads == Counter({p: 1 for p in [*PATIENTS, GONE]})  # each candidate once, no more
    logs = [w.log.read_text() for w in setup.workers]
    assert sum(log.count("bhcds.scan_batch") for log in logs) >= 2  # batches ran as tasks of their own


def test_a_worker_killed_mid_batch_loses_no_patient(setup: Setup) -> None:
    panel = Panel(setup.fhir.url, delay=0.4)  # a slow server: the first worker is killed mid-batch
    setup.fhir.get_handler = panel
    first = setup.worker("tests.service.reminders.short_visibility_app:app")

    setup.app.tasks[SCAN_TASK].apply_async()
    wait_for(lambda: sum(panel.reads.values()) >= 3, timeout=30)  # a batch is under way
    first.kill()
    assert (run := setup.run()) is not None and run.finished is None and run.evaluated == 0
    # kombu restores unacknowledged messages whose visibility timeout (2 s here) has passed when a consumer
    # starts: start the next worker after it, so the lost batch is certain to come back to it
    time.sleep(3)
    setup.worker("tests.service.reminders.short_visibility_app:app")  # takes the rest and the lost batch
    run = setup.wait_finished(timeout=120)

    assert (run.candidates, run.evaluated, run.failed) == (31, 30, 1)  # the lost batch counted once
    assert setup.batches(run.id) == math.ceil(31 / BATCH_SIZE)
    assert set(panel.reads) == {*PATIENTS, GONE}  # no patient lost
    assert any(n > 1 for n in panel.reads.values())  # the killed batch really was evaluated again
