"""The FHIR R4 Task a reminder becomes, and its conditional-create header."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.task import Task

from service.kernel.findings import TOPIC_SYSTEM
from service.persistence.models import Reminder

REMINDER_SYSTEM = "urn:bone-health-cds:reminder"


def task_resource(reminder: Reminder, authored_on: datetime) -> dict[str, Any]:
    """The Task JSON, validated with the R4B model so a malformed Task never leaves the service."""
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": REMINDER_SYSTEM, "value": reminder.task_key}],
        "status": "requested",
        "intent": "plan",
        "code": {"coding": [{"system": TOPIC_SYSTEM, "code": reminder.topic}]},
        "description": reminder.summary,
        "for": {"reference": f"Patient/{reminder.patient_id}"},
        "executionPeriod": {"start": reminder.due_date.isoformat()},
        "authoredOn": authored_on.isoformat(),
    }
    Task.model_validate(resource)
    return resource


def if_none_exist(key: str) -> str:
    """``identifier=<system>|<value>`` with the value's own ``|`` escaped as FHIR search requires."""
    value = key.replace("\\", "\\\\").replace("|", "\\|").replace(",", "\\,").replace("$", "\\$")
    return "identifier=" + quote(f"{REMINDER_SYSTEM}|{value}", safe=":|\\/-._~")
