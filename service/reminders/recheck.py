"""Before a reminder goes out, re-read the chart (rules.md: "where a FHIR server is configured,
delivery re-reads the chart first"): a reminder whose finding no longer holds is cancelled, not sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.findings import Finding
from service.persistence.models import Reminder, utcnow
from service.reminders.scan import PatientGone, fetch_chart, is_deceased
from service.reminders.schedule import reconcile
from service.settings import Settings

Evaluate = Callable[[str, list[dict[str, Any]], datetime], Sequence[Finding]]
StillDue = Callable[[Reminder], bool]


def chart_recheck(settings: Settings, factory: sessionmaker[Session], evaluate: Evaluate) -> StillDue:
    """A check that evaluates the patient's current chart, reconciles the patient's other reminders,
    and says whether this reminder's (topic, due date) still holds. Fetch errors propagate (the
    delivery retries); a patient the server no longer has is not due."""

    def still_due(reminder: Reminder) -> bool:
        now = utcnow()
        try:
            resources = asyncio.run(fetch_chart(settings, reminder.patient_id))
        except PatientGone:
            return False
        deceased = is_deceased(resources)
        findings = [] if deceased else list(evaluate(reminder.patient_id, resources, now))
        with factory.begin() as session:
            reconcile(session, reminder.patient_id, findings, deceased=deceased, now=now)
        return any(f.topic.value == reminder.topic and f.due == reminder.due_date for f in findings)

    return still_due
