"""``GET /reminders?patient=<id>[&status=<s>]``: a patient's reminders, for clinicians and support."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cds_hooks.errors import outcome_response
from service.persistence.models import Reminder, ReminderStatus

_STATUSES = {s.value for s in ReminderStatus}


def router(session_factory: sessionmaker[Session], settle: Callable[..., bool] | None = None) -> APIRouter:
    """``settle(patient, timeout=...)`` waits for the writes behind this process's answers."""
    api = APIRouter()

    @api.get("/reminders", response_model=None)
    def list_reminders(patient: str | None = None, status: str | None = None) -> Any:
        # A plain (sync) endpoint: FastAPI runs it in its thread pool, off the event loop.
        if not patient:
            return outcome_response(400, "required", "query parameter 'patient' is required", "patient")
        if status is not None and status not in _STATUSES:
            allowed = ", ".join(sorted(_STATUSES))
            return outcome_response(400, "value", f"status must be one of: {allowed}", "status")
        if settle is not None:
            settle(patient, timeout=2.0)
        query = select(Reminder).where(Reminder.patient_id == patient)
        if status is not None:
            query = query.where(Reminder.status == status)
        with session_factory() as session:
            rows = session.execute(query.order_by(Reminder.due_date, Reminder.id)).scalars().all()
        return [_json(row) for row in rows]

    return api


def _json(row: Reminder) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient": row.patient_id,
        "topic": row.topic,
        "due_date": row.due_date.isoformat(),
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
    }
