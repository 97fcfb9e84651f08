"""A real app on its own SQLite file with a clock the test moves, and the worked cases as charts."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.test_worked_cases import DOC, NOW, _request

OVERRIDE_SYSTEM = "urn:bone-health-cds:override"
REASONS = (
    "remind-later",
    "patient-declined",
    "not-applicable",
    "addressed-elsewhere",
    "benefit-outweighs-risk",
)
#: architecture.md, Feedback: the quiet period of each reason (days); None: it quiets nothing
QUIET_DAYS: dict[str, int | None] = {
    "remind-later": 30,
    "patient-declined": 183,
    "not-applicable": 365,
    "addressed-elsewhere": 92,
    "benefit-outweighs-risk": None,
}
CRITICAL_CAP_DAYS = 30
CASES: dict[str, dict[str, Any]] = {c["id"]: c for c in DOC["cases"]}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?=$|T)")


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Service:
    """One application (one database), called as an EHR calls it."""

    client: TestClient
    clock: Clock
    sent: list[dict[str, Any]] = field(default_factory=list)

    def call(
        self, case: dict[str, Any], *, hook: str | None = None, shift_days: int = 0
    ) -> dict[str, dict[str, Any]]:
        """The case's hook (or ``hook``), with every date of the chart ``shift_days`` later: the same
        clinical picture at a later now. Returns the cards by topic code."""
        request = _request(shifted(case, shift_days) if shift_days else case)
        request["hookInstance"] = str(uuid.uuid4())
        if hook is not None:
            request["hook"] = hook
            if hook == "order-select":
                drafts = request["context"]["draftOrders"]["entry"]
                request["context"]["selections"] = [
                    f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in drafts
                ]
            else:
                request["context"].pop("selections", None)
        response = self.client.post(f"/cds-services/bone-health-{request['hook']}", json=request)
        assert response.status_code == 200, response.text
        return {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}

    def override(self, hook: str, card: dict[str, Any], reason: str) -> None:
        item = {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": {"reason": {"system": OVERRIDE_SYSTEM, "code": reason}},
            "outcomeTimestamp": self.clock.now.isoformat(),
        }
        response = self.client.post(f"/cds-services/bone-health-{hook}/feedback", json={"feedback": [item]})
        assert response.status_code == 200, response.text

    def suppressions(self, patient: str) -> list[dict[str, Any]]:
        response = self.client.get("/suppressions", params={"patient": patient})
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body


@contextmanager
def service(tmp_path: Path, name: str = "app", **overrides: Any) -> Iterator[Service]:
    from service.app import create_app
    from service.settings import Settings

    clock = Clock()
    settings = Settings(auth_enabled=False, database_url=f"sqlite:///{tmp_path}/{name}.db", **overrides)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Service(client, clock)


def shifted(case: dict[str, Any], days: int) -> dict[str, Any]:
    """The case with every FHIR date and dateTime moved ``days`` later (birth dates too: ages stay)."""
    moved = copy.deepcopy(case)
    moved["record"] = [_shift(r, days) for r in moved["record"]]
    moved["draftOrders"] = [_shift(r, days) for r in moved.get("draftOrders", [])]
    return moved


def _shift(value: Any, days: int) -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, days) for v in value]
    if isinstance(value, str) and _DATE.match(value):
        head = datetime.fromisoformat(value[:10]) + timedelta(days=days)
        return head.date().isoformat() + value[10:]
    return value


def changed_dose(case: dict[str, Any]) -> dict[str, Any]:
    """The case with each draft's dose changed (a new decision for the same order)."""
    moved = copy.deepcopy(case)
    for draft in moved.get("draftOrders", []):
        if draft.get("resourceType") == "MedicationRequest":
            draft["dosageInstruction"] = [{"doseAndRate": [{"doseQuantity": {"value": 999, "unit": "mg"}}]}]
    return moved


def first_case(topic: str) -> dict[str, Any]:
    """The first worked case whose answer shows ``topic`` as a card of its own."""
    return next(c for c in DOC["cases"] if topic in c["expect"])
