"""Turn one evaluation's time-bound findings into reminder rows (rules.md "Reminders").

Every evaluation of a patient gives the same due dates, so the unique key (patient, topic, due date)
makes a re-evaluation a no-op; a finding that no longer holds cancels its pending reminder, and (r3) a
cancelled reminder whose key an evaluation gives again is pending again. Only a delivered one is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.kernel.findings import TIME_BOUND_TOPICS, Finding
from service.persistence import insert_ignore
from service.persistence.models import Reminder, ReminderStatus, task_key

_SUMMARY_MAX = 1000
_PENDING = ReminderStatus.PENDING.value
_CANCELLED = ReminderStatus.CANCELLED.value
_TIME_BOUND = sorted(t.value for t in TIME_BOUND_TOPICS)


def reconcile(
    session: Session, patient_id: str, findings: Sequence[Finding], *, deceased: bool, now: datetime
) -> None:
    """Make the patient's pending reminders match ``findings``. Flushes; the caller commits.

    Adds one pending reminder per (topic, due date) of a time-bound finding, fired or not yet due.
    rules.md (r3): "A cancelled reminder is not final: when a later evaluation gives the same (patient,
    topic, due date) again (the order that resolved it was entered in error, the chart was read
    incomplete), the reminder is pending again, with its history kept. Only a delivered reminder is
    final." So a cancelled row of a wanted key becomes pending again (its attempts and last error kept);
    a delivered, claimed or failed row is never touched (a failed one is out of attempts or failed for
    good: retrying it on every evaluation would only fail again). Pending reminders of time-bound topics
    that the findings no longer give are cancelled; all of them when the patient is deceased.
    """
    wanted = {} if deceased else _wanted(findings)
    # One read of the patient's reminders decides what to write; usually nothing has changed and the
    # read is all. The writes keep their guards (insert-if-absent, status in WHERE): a concurrent
    # evaluation of the same patient in another process cannot make a row twice or undo a delivery.
    have = {
        (row.topic, row.due_date): row
        for row in session.execute(
            select(Reminder.id, Reminder.topic, Reminder.due_date, Reminder.status).where(
                Reminder.patient_id == patient_id, Reminder.topic.in_(_TIME_BOUND)
            )
        )
    }
    rows = [
        _new_row(patient_id, topic, due, summary, now)
        for (topic, due), summary in wanted.items()
        if (topic, due) not in have
    ]
    insert_ignore(session, Reminder, rows, ("patient_id", "topic", "due_date"))
    again = [row.id for key, row in have.items() if key in wanted and row.status == _CANCELLED]
    stale = [row.id for key, row in have.items() if key not in wanted and row.status == _PENDING]
    for ids, was, becomes in ((again, _CANCELLED, _PENDING), (stale, _PENDING, _CANCELLED)):
        if ids:
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids), Reminder.status == was)
                .values(status=becomes, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    session.flush()


def _wanted(findings: Sequence[Finding]) -> dict[tuple[str, date], str]:
    wanted: dict[tuple[str, date], str] = {}
    for finding in findings:
        if finding.topic in TIME_BOUND_TOPICS and finding.due is not None:
            wanted.setdefault((finding.topic.value, finding.due), finding.topic.value[:_SUMMARY_MAX])
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
