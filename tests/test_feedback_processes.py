"""Feedback for one card through two API processes sharing one PostgreSQL: one suppression, both listen.

An EHR behind a load balancer sends the hook to one process and the feedback (sometimes twice, from a
retry) to another. Two real `bone-health-cds serve` processes, the real clock: the chart's dates are
moved to today so the worked case reads as it was written.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.reminders.runner import settings_environment
from service.settings import Settings
from tests.service.feedback.helpers import OVERRIDE_SYSTEM, first_case, shifted
from tests.service.persistence.databases import pg_url
from tests.test_processes import free_port, get, running, wait_until
from tests.test_worked_cases import NOW, _request

pytestmark = pytest.mark.slow

__all__ = ["pg_url"]

TOPIC = "vitamin-d-deficiency"


def _hook(base: str, case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    request = _request(case)
    request["hookInstance"] = str(uuid.uuid4())
    response = httpx.post(f"{base}/cds-services/bone-health-patient-view", json=request, timeout=30)
    assert response.status_code == 200, response.text
    return {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}


def test_feedback_for_one_card_from_two_api_processes(tmp_path: Path, pg_url: str) -> None:
    env = settings_environment(Settings(auth_enabled=False, database_url=pg_url))
    case = shifted(first_case(TOPIC), (datetime.now(UTC) - NOW).days)
    ports = free_port(), free_port()
    logs = tmp_path / "a.log", tmp_path / "b.log"
    args = [["serve", "--port", str(p), "--no-embedded-worker", "--api-processes", "1"] for p in ports]
    with running(args[0], env, tmp_path, logs[0]) as a, running(args[1], env, tmp_path, logs[1]) as b:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base, proc, log in zip(bases, (a, b), logs, strict=True):
            wait_until(lambda base=base: get(f"{base}/healthz") == 200, 60, "/healthz", proc, log)

        card = _hook(bases[0], case)[TOPIC]
        item = {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": {"reason": {"system": OVERRIDE_SYSTEM, "code": "remind-later"}},
            "outcomeTimestamp": datetime.now(UTC).isoformat(),
        }
        retried = {**item, "outcomeTimestamp": datetime.now(UTC).isoformat() + "0"}  # a second click
        sends = [(bases[0], item), (bases[1], item), (bases[1], retried), (bases[0], retried)]
        with ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(
                    lambda s: (
                        httpx.post(
                            f"{s[0]}/cds-services/bone-health-patient-view/feedback",
                            json={"feedback": [s[1]]},
                            timeout=30,
                        ).status_code
                    ),
                    sends,
                )
            )
        assert statuses == [200, 200, 200, 200]

        for base in bases:
            listed = httpx.get(f"{base}/suppressions", params={"patient": case["patientId"]}).json()
            assert [(s["topic"], s["reason"], s["card"]) for s in listed] == [
                (TOPIC, "remind-later", card["uuid"])
            ]
            assert TOPIC not in _hook(base, case)
