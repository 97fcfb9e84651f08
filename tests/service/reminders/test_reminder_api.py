"""GET /reminders lists one patient's reminders; a bad query is a 400 OperationOutcome."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import ReminderStatus
from service.reminders.api import router
from tests.service.reminders.helpers import TODAY, add_reminder


def _client(factory: sessionmaker[Session]) -> TestClient:
    app = FastAPI()
    app.include_router(router(factory))
    return TestClient(app)


def test_lists_the_patients_reminders_in_due_order(factory: sessionmaker[Session]) -> None:
    later = add_reminder(factory, "p1", TODAY + timedelta(days=10))
    first = add_reminder(factory, "p1", TODAY, topic="monitoring-overdue", status=ReminderStatus.DELIVERED)
    add_reminder(factory, "p2", TODAY)
    body = _client(factory).get("/reminders", params={"patient": "p1"}).json()
    assert [r["id"] for r in body] == [first, later]
    assert body[1] == {
        "id": later,
        "patient": "p1",
        "topic": "denosumab-dose-due",
        "due_date": (TODAY + timedelta(days=10)).isoformat(),
        "status": "pending",
        "attempts": 0,
        "last_error": None,
    }


def test_filters_by_status(factory: sessionmaker[Session]) -> None:
    add_reminder(factory, "p1", TODAY + timedelta(days=10))
    delivered = add_reminder(factory, "p1", TODAY, status=ReminderStatus.DELIVERED)
    body = _client(factory).get("/reminders", params={"patient": "p1", "status": "delivered"}).json()
    assert [r["id"] for r in body] == [delivered]


def test_missing_patient_or_unknown_status_is_a_400_operation_outcome(factory: sessionmaker[Session]) -> None:
    client = _client(factory)
    missing = client.get("/reminders")
    assert missing.status_code == 400
    assert missing.json()["resourceType"] == "OperationOutcome"
    assert missing.json()["issue"][0]["expression"] == ["patient"]
    bad = client.get("/reminders", params={"patient": "p1", "status": "sent"})
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["status"]
    assert client.get("/reminders", params={"patient": "nobody"}).json() == []
