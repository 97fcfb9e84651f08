"""Before a reminder goes out, re-read the chart (rules.md: "where a FHIR server is configured,
delivery re-reads the chart first"): a reminder whose finding no longer holds is cancelled, not sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import Finding
from service.persistence.models import Reminder, utcnow
from service.reminders.metrics import CHART_REREAD_FAILURES
from service.reminders.scan import ScanError, fetch_chart, is_deceased
from service.reminders.schedule import reconcile
from service.settings import Settings

log = logging.getLogger(__name__)

Evaluate = Callable[[str, list[dict[str, Any]], datetime], Sequence[Finding]]
StillDue = Callable[[Reminder], bool]


def chart_recheck(settings: Settings, factory: sessionmaker[Session], evaluate: Evaluate) -> StillDue:
    """A check that evaluates the patient's current chart, reconciles the patient's other reminders,
    and says whether this reminder's (topic, due date) still holds.

    Only a chart read in full can cancel a reminder. When the chart cannot be read (a FHIR server
    that takes Tasks but serves no charts, a patient it does not know, an outage), the reminder goes
    out as scheduled: the re-read exists to spare clinicians stale reminders, never to lose a due one.
    """

    def still_due(reminder: Reminder) -> bool:
        now = utcnow()
        try:
            resources = asyncio.run(fetch_chart(settings, reminder.patient_id))
        except (ScanError, httpx.HTTPError) as error:
            CHART_REREAD_FAILURES.inc()
            log.warning(
                "reminder %s: chart not re-read (%s); delivering as scheduled",
                reminder.id,
                type(error).__name__,
            )
            return True
        deceased = is_deceased(resources)
        findings = [] if deceased else list(evaluate(reminder.patient_id, resources, now))
        with factory.begin() as session:
            reconcile(session, reminder.patient_id, findings, deceased=deceased, now=now)
        return any(f.topic.value == reminder.topic and f.due == reminder.due_date for f in findings)

    return still_due
