"""Turn one evaluation's time-bound findings into reminder rows (rules.md "Reminders").

Every evaluation of a patient gives the same due dates, so the unique key (patient, topic, due date)
makes a re-evaluation a no-op; a finding that no longer holds cancels its pending reminder, and (r3) a
cancelled reminder whose key an evaluation gives again is pending again. Only a delivered one is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from service.kernel.findings import TIME_BOUND_TOPICS, Finding
from service.persistence import insert_ignore
from service.persistence.models import Reminder, ReminderStatus, task_key

_SUMMARY_MAX = 1000
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
    rows = [_new_row(patient_id, topic, due, summary, now) for (topic, due), summary in wanted.items()]
    insert_ignore(session, Reminder, rows, ("patient_id", "topic", "due_date"))
    if wanted:
        session.execute(
            update(Reminder)
            .where(
                Reminder.patient_id == patient_id,
                Reminder.status == ReminderStatus.CANCELLED.value,
                or_(*(and_(Reminder.topic == topic, Reminder.due_date == due) for topic, due in wanted)),
            )
            .values(status=ReminderStatus.PENDING.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )

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
