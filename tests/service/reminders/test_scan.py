"""The scan finds patients on tracked therapies (following paged Bundles), evaluates each, and
reconciles their reminders; a patient that cannot be fetched is skipped, not fatal."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import Finding, Topic
from service.persistence import make_engine, session_factory
from service.persistence.models import Reminder, ScanRun
from service.reminders.scan import evaluate_batch, recent_runs, scan
from service.settings import Settings
from tests.fhir_server import FhirServer
from tests.service.reminders.helpers import NOW, TODAY, add_reminder, finding


class FakeServer:
    """Patients p1..p5 on denosumab (two pages of MedicationRequests); p4 is deceased; p5 is gone."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tokens: set[str] = set()
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        self.tokens.add(headers.get("authorization", ""))
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(0.01)
            return self._answer(path, query)
        finally:
            with self.lock:
                self.active -= 1

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if path == "/fhir/MedicationRequest" and "code" in query:
            if "993449" not in query["code"][0]:
                return 200, _bundle([])
            return 200, _bundle(
                [_med("p1"), _med("p2"), _med("p2")], next_url=f"{self.base}/MedicationRequest?page=2"
            )
        if path == "/fhir/MedicationRequest" and query.get("page") == ["2"]:
            return 200, _bundle([_med("p3"), _med("p4"), _med("p5")])
        if path.startswith("/fhir/Patient/"):
            patient = path.rsplit("/", 1)[1]
            if patient == "p5":
                return 404, {"resourceType": "OperationOutcome"}
            return 200, {"resourceType": "Patient", "id": patient, "deceasedBoolean": patient == "p4"}
        resource_type = path.rsplit("/", 1)[1]
        patient = query["patient"][0]
        if resource_type == "Observation":
            return 200, _bundle([{"resourceType": "Observation", "id": f"o-{patient}"}])
        return 200, _bundle([])


def _med(patient: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "subject": {"reference": f"Patient/{patient}"}}


def _bundle(resources: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def test_scan_evaluates_every_candidate_and_reconciles(
    factory: sessionmaker[Session], fhir: FhirServer
) -> None:
    server = FakeServer(fhir.url)
    fhir.get_handler = server
    add_reminder(factory, "p4", TODAY)  # the deceased patient's pending reminder
    seen: dict[str, list[str]] = {}

    def evaluate(patient_id: str, resources: list[dict[str, Any]], now: datetime) -> Sequence[Finding]:
        assert now == NOW
        seen[patient_id] = sorted(r["resourceType"] for r in resources)
        return [finding(Topic.DENOSUMAB_DOSE_DUE, due=TODAY + timedelta(days=30))]

    settings = Settings(fhir_base_url=fhir.url, fhir_token="scan-token", scan_concurrency=2)
    evaluated = asyncio.run(scan(settings, evaluate, now=NOW, factory=factory))

    assert evaluated == 4  # p1..p4; p5 could not be read and is skipped
    assert sorted(seen) == ["p1", "p2", "p3"]  # the deceased p4 is not evaluated
    assert seen["p1"] == ["Observation", "Patient"]
    assert server.tokens == {"Bearer scan-token"}
    assert server.peak <= 2
    with factory() as session:
        rows = session.execute(select(Reminder).order_by(Reminder.patient_id)).scalars().all()
        got = [(r.patient_id, r.due_date, r.status, r.summary) for r in rows]
    assert got == [
        ("p1", TODAY + timedelta(days=30), "pending", "denosumab-dose-due"),
        ("p2", TODAY + timedelta(days=30), "pending", "denosumab-dose-due"),
        ("p3", TODAY + timedelta(days=30), "pending", "denosumab-dose-due"),
        ("p4", TODAY, "cancelled", "Next denosumab dose is due"),
    ]


def test_scan_without_a_fhir_server_does_nothing(factory: sessionmaker[Session]) -> None:
    def evaluate(patient_id: str, resources: list[dict[str, Any]], now: datetime) -> Sequence[Finding]:
        raise AssertionError("must not be called")

    assert asyncio.run(scan(Settings(), evaluate, now=NOW, factory=factory)) == 0


def test_a_scan_is_recorded_as_a_run_and_a_batch_counts_once(
    factory: sessionmaker[Session], fhir: FhirServer
) -> None:
    server = FakeServer(fhir.url)
    fhir.get_handler = server
    calls: list[str] = []

    def evaluate(patient_id: str, resources: list[dict[str, Any]], now: datetime) -> Sequence[Finding]:
        calls.append(patient_id)
        return [finding(Topic.DENOSUMAB_DOSE_DUE, due=TODAY + timedelta(days=30))]

    settings = Settings(fhir_base_url=fhir.url)
    assert asyncio.run(scan(settings, evaluate, now=NOW, factory=factory)) == 4
    with factory() as session:
        run = session.scalars(select(ScanRun).order_by(ScanRun.id.desc())).first()
        assert run is not None
        assert (run.candidates, run.evaluated, run.failed, run.started) == (5, 4, 1, NOW)
        assert run.finished is not None

    # the same batch delivered again (a worker died after the commit, before the acknowledgement)
    again = asyncio.run(
        evaluate_batch(settings, evaluate, run.id, 0, ["p1", "p2", "p3"], now=NOW, factory=factory)
    )
    assert again is None and sorted(calls) == ["p1", "p2", "p3"]  # not evaluated, not counted
    assert recent_runs(factory)[0] == {
        "id": run.id,
        "started": NOW.isoformat(),
        "finished": run.finished.isoformat(),
        "candidates": 5,
        "evaluated": 4,
        "failed": 1,
    }


def test_scan_status_prints_the_latest_runs(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with session_factory(engine).begin() as session:
        session.add(ScanRun(started=NOW, candidates=3, evaluated=2, failed=1, finished=NOW))
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BHCDS_")} | {
        "BHCDS_DATABASE_URL": sqlite_url
    }
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "scan", "--status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert json.loads(line) == {
        "id": 1,
        "started": NOW.isoformat(),
        "finished": NOW.isoformat(),
        "candidates": 3,
        "evaluated": 2,
        "failed": 1,
    }
