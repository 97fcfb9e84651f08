"""`bench/scan.py --quick` end to end on the machine's PostgreSQL and Redis with a real Celery worker:
every synthetic patient is scanned and every reminder delivered, and each figure is reported.
Correctness only: its timings on a shared CI machine mean nothing and are not checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_unavailable
from tests.service.persistence.databases import postgres_reachable, redis_reachable

pytestmark = [pytest.mark.slow, pytest.mark.services]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not postgres_reachable():
        service_unavailable("PostgreSQL at 127.0.0.1:5432")
    if not redis_reachable():
        service_unavailable("Redis at 127.0.0.1:6379")
    out = tmp_path_factory.mktemp("bench") / "scan.json"
    done = subprocess.run(
        [sys.executable, "bench/scan.py", "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def test_every_patient_is_scanned_and_every_reminder_delivered(result: dict[str, Any]) -> None:
    (run,) = result["runs"]
    patients = result["patients"]
    assert run["workers"] == 1 and patients >= 100
    assert run["scan"]["candidates"] == run["scan"]["evaluated"] == patients and run["scan"]["failed"] == 0
    assert run["delivery"]["delivered"] == patients


def test_every_figure_is_reported(result: dict[str, Any]) -> None:
    (run,) = result["runs"]
    for figure in ("seconds", "patients_per_s", "worker_cpu_ms_per_patient"):
        assert run["scan"][figure] > 0, figure
    for figure in ("seconds", "per_s", "worker_cpu_ms_per_reminder"):
        assert run["delivery"][figure] > 0, figure
    assert result["machine"]["nproc"] >= 1 and len(result["load_average_1m"]) == 2
