"""Delivery re-reads the chart first: a reminder whose finding no longer holds is cancelled, not sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import Finding
from service.persistence.models import ReminderStatus
from service.reminders.delivery import Outcome, deliver_reminder
from service.reminders.recheck import chart_recheck
from service.settings import Settings
from tests.fhir_server import FhirServer
from tests.service.reminders.helpers import NOW, TODAY, add_reminder, finding, reminder

DUE = TODAY - timedelta(days=1)


def _chart(patient: dict[str, Any] | None, status: int = 200) -> Any:
    def answer(path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path.startswith("/fhir/Patient/"):
            if patient is None:
                return 404, {"resourceType": "OperationOutcome"}
            return status, patient
        return status, {"resourceType": "Bundle", "type": "searchset", "entry": []}

    return answer


def _deliver(
    factory: sessionmaker[Session], fhir: FhirServer, findings: list[Finding]
) -> tuple[Outcome, int]:
    def evaluate(patient_id: str, resources: list[dict[str, Any]], now: datetime) -> Sequence[Finding]:
        assert resources[0]["resourceType"] == "Patient"
        return findings

    rid = add_reminder(factory, "p1", DUE, status=ReminderStatus.CLAIMED, claimed_at=NOW)
    settings = Settings(fhir_base_url=fhir.url)
    check = chart_recheck(settings, factory, evaluate)
    return deliver_reminder(factory, rid, settings, still_due=check).outcome, rid


def test_reminder_still_given_by_the_chart_is_sent(factory: sessionmaker[Session], fhir: FhirServer) -> None:
    fhir.get_handler = _chart({"resourceType": "Patient", "id": "p1"})
    outcome, rid = _deliver(factory, fhir, [finding(due=DUE)])
    assert outcome is Outcome.DELIVERED and fhir.task_count() == 1
    assert reminder(factory, rid).status == "delivered"


@pytest.mark.parametrize(
    ("patient", "findings"),
    [
        ({"resourceType": "Patient", "id": "p1"}, []),  # the dose was given
        ({"resourceType": "Patient", "id": "p1"}, [finding(due=DUE + timedelta(days=183))]),  # next one
        ({"resourceType": "Patient", "id": "p1", "deceasedDateTime": "2026-11-01"}, [finding(due=DUE)]),
    ],
    ids=["resolved", "moved", "deceased"],
)
def test_reminder_the_chart_no_longer_gives_is_cancelled(
    factory: sessionmaker[Session], fhir: FhirServer, patient: dict[str, Any] | None, findings: list[Finding]
) -> None:
    fhir.get_handler = _chart(patient)
    outcome, rid = _deliver(factory, fhir, findings)
    assert outcome is Outcome.CANCELLED
    assert reminder(factory, rid).status == "cancelled"
    assert fhir.posts == []


@pytest.mark.parametrize(
    ("patient", "status"),
    [
        ({"resourceType": "Patient", "id": "p1"}, 502),  # an outage
        ({"resourceType": "Patient", "id": "p1"}, 501),  # a server that takes Tasks but serves no charts
        (None, 200),  # a patient the server does not know
    ],
    ids=["outage", "no-chart-reads", "unknown-patient"],
)
def test_a_chart_that_cannot_be_read_never_stops_a_due_reminder(
    factory: sessionmaker[Session], fhir: FhirServer, patient: dict[str, Any] | None, status: int
) -> None:
    fhir.get_handler = _chart(patient, status=status)
    outcome, rid = _deliver(factory, fhir, [])  # the evaluation is never reached
    assert outcome is Outcome.DELIVERED
    assert reminder(factory, rid).status == "delivered" and fhir.task_count() == 1
