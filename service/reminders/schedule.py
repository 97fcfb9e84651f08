"""Turn one evaluation's time-bound findings into reminder rows (rules.md "Reminders").

Every evaluation of a patient gives the same due dates, so the unique key (patient, topic, due date)
makes a re-evaluation a no-op; a finding that no longer holds cancels its pending reminder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.kernel.findings import TIME_BOUND_TOPICS, Finding
from service.persistence._upsert import insert_ignore
from service.persistence.models import Reminder, ReminderStatus, task_key

_SUMMARY_MAX = 1000
_TIME_BOUND = sorted(t.value for t in TIME_BOUND_TOPICS)


def reconcile(
    session: Session, patient_id: str, findings: Sequence[Finding], *, deceased: bool, now: datetime
) -> None:
    """Make the patient's pending reminders match ``findings``. Flushes; the caller commits.

    Adds one pending reminder per (topic, due date) of a time-bound finding, fired or not yet due;
    never touches a delivered, failed or cancelled row (a delivered reminder is not resurrected).
    Pending reminders of time-bound topics that the findings no longer give are cancelled; all of
    them when the patient is deceased.
    """
    wanted = {} if deceased else _wanted(findings)
    rows = [_new_row(patient_id, topic, due, summary, now) for (topic, due), summary in wanted.items()]
    insert_ignore(session, Reminder, rows, ("patient_id", "topic", "due_date"))

    pending = session.execute(
        select(Reminder.id, Reminder.topic, Reminder.due_date).where(
            Reminder.patient_id == patient_id,
            Reminder.status == ReminderStatus.PENDING.value,
            Reminder.topic.in_(_TIME_BOUND),
        )
    ).all()
    stale = [row.id for row in pending if (row.topic, row.due_date) not in wanted]
    if stale:
        session.execute(
            update(Reminder)
            .where(Reminder.id.in_(stale), Reminder.status == ReminderStatus.PENDING.value)
            .values(status=ReminderStatus.CANCELLED.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    session.flush()


def _wanted(findings: Sequence[Finding]) -> dict[tuple[str, date], str]:
    wanted: dict[tuple[str, date], str] = {}
    for finding in findings:
        if finding.topic in TIME_BOUND_TOPICS and finding.due is not None:
            facts = finding.facts  # typed facts (a dataclass) carry no summary; the topic names it
            summary = (facts.get("summary") if isinstance(facts, Mapping) else None) or finding.topic.value
            wanted.setdefault((finding.topic.value, finding.due), str(summary)[:_SUMMARY_MAX])
    return wanted


def _new_row(patient_id: str, topic: str, due: date, summary: str, now: datetime) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "topic": topic,
        "due_date": due,
        "status": ReminderStatus.PENDING.value,
        "attempts": 0,
        "summary": summary,
        "task_key": task_key(patient_id, topic, due),
        "created_at": now,
        "updated_at": now,
    }
