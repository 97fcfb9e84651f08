"""One reminder per (patient, topic, due date); findings that no longer hold cancel theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import Finding, Indicator, Topic
from service.persistence.models import Reminder, ReminderStatus
from service.reminders.schedule import reconcile
from tests.service.reminders.helpers import NOW, TODAY, add_reminder, finding


def _reconcile(factory: sessionmaker[Session], findings: list[Finding], deceased: bool = False) -> None:
    with factory.begin() as session:
        reconcile(session, "p1", findings, deceased=deceased, now=NOW)


def _rows(factory: sessionmaker[Session]) -> list[tuple[str, object, str]]:
    with factory() as session:
        rows = session.execute(select(Reminder).order_by(Reminder.id)).scalars().all()
        return [(r.topic, r.due_date, r.status) for r in rows]


def test_same_finding_twice_makes_one_reminder(factory: sessionmaker[Session]) -> None:
    due = TODAY + timedelta(days=30)
    _reconcile(factory, [finding(due=due)])
    _reconcile(factory, [finding(due=due)])
    assert _rows(factory) == [("denosumab-dose-due", due, "pending")]
    with factory() as session:
        row = session.execute(select(Reminder)).scalar_one()
    assert row.summary == "denosumab-dose-due"  # the topic code: EHRs identify reminders by it
    assert row.task_key == f"p1|denosumab-dose-due|{due.isoformat()}"


def test_future_finding_that_does_not_fire_still_schedules(factory: sessionmaker[Session]) -> None:
    future = Finding(
        topic=Topic.DENOSUMAB_SEQUENCING_MISSING,
        indicator=Indicator.CRITICAL,
        due=TODAY + timedelta(days=90),
        fires=False,
    )
    _reconcile(factory, [future])
    assert _rows(factory) == [("denosumab-sequencing-missing", TODAY + timedelta(days=90), "pending")]
    with factory() as session:
        assert session.execute(select(Reminder.summary)).scalar_one() == "denosumab-sequencing-missing"


def test_only_time_bound_findings_with_a_due_date_become_reminders(factory: sessionmaker[Session]) -> None:
    _reconcile(
        factory,
        [
            finding(Topic.VITAMIN_D_DEFICIENCY, due=TODAY),  # not time-bound
            finding(Topic.MONITORING_OVERDUE, due=None),  # no due date
        ],
    )
    assert _rows(factory) == []


def test_resolved_finding_cancels_its_pending_reminder(factory: sessionmaker[Session]) -> None:
    _reconcile(factory, [finding(), finding(Topic.MONITORING_OVERDUE)])
    _reconcile(factory, [finding(Topic.MONITORING_OVERDUE)])  # the dose was given
    assert _rows(factory) == [
        ("denosumab-dose-due", TODAY, "cancelled"),
        ("monitoring-overdue", TODAY, "pending"),
    ]


def test_moved_due_date_cancels_the_old_and_adds_the_new(factory: sessionmaker[Session]) -> None:
    _reconcile(factory, [finding(due=TODAY)])
    _reconcile(factory, [finding(due=TODAY + timedelta(days=183))])  # a new dose was recorded
    assert _rows(factory) == [
        ("denosumab-dose-due", TODAY, "cancelled"),
        ("denosumab-dose-due", TODAY + timedelta(days=183), "pending"),
    ]


def test_deceased_patient_cancels_every_pending_reminder(factory: sessionmaker[Session]) -> None:
    _reconcile(factory, [finding(), finding(Topic.MONITORING_OVERDUE)])
    _reconcile(factory, [finding(), finding(Topic.MONITORING_OVERDUE)], deceased=True)
    assert [status for _, _, status in _rows(factory)] == ["cancelled", "cancelled"]


def test_delivered_reminder_is_never_resurrected(factory: sessionmaker[Session]) -> None:
    add_reminder(factory, "p1", status=ReminderStatus.DELIVERED)
    _reconcile(factory, [finding()])  # same finding, same due date: still delivered, no second row
    _reconcile(factory, [])  # and a resolved finding does not cancel a delivered reminder
    assert _rows(factory) == [("denosumab-dose-due", TODAY, "delivered")]


def test_other_patients_are_untouched(factory: sessionmaker[Session]) -> None:
    add_reminder(factory, "p2")
    _reconcile(factory, [], deceased=True)
    assert _rows(factory) == [("denosumab-dose-due", TODAY, "pending")]


# --- revision 3: a cancelled reminder is not final ----------------------------------------------------


def _set_history(factory: sessionmaker[Session], attempts: int, last_error: str) -> None:
    with factory.begin() as session:
        row = session.execute(select(Reminder)).scalar_one()
        row.attempts, row.last_error = attempts, last_error


def test_a_cancelled_reminder_given_again_is_pending_again_with_its_history(
    factory: sessionmaker[Session],
) -> None:
    _reconcile(factory, [finding()])
    _set_history(factory, 2, "FHIR server 503")
    _reconcile(factory, [])  # a bisphosphonate was recorded: cancelled
    assert _rows(factory) == [("denosumab-dose-due", TODAY, "cancelled")]
    _reconcile(factory, [finding()])  # it was entered in error: the same key again
    assert _rows(factory) == [("denosumab-dose-due", TODAY, "pending")]
    with factory() as session:
        row = session.execute(select(Reminder)).scalar_one()
    assert (row.attempts, row.last_error) == (2, "FHIR server 503")
    assert row.task_key == f"p1|denosumab-dose-due|{TODAY.isoformat()}"


def test_only_the_key_given_again_is_rearmed(factory: sessionmaker[Session]) -> None:
    later = TODAY + timedelta(days=183)
    _reconcile(factory, [finding(), finding(Topic.MONITORING_OVERDUE)])
    _reconcile(factory, [])
    _reconcile(factory, [finding(due=later)])  # another due date, another topic cancelled stays so
    assert _rows(factory) == [
        ("denosumab-dose-due", TODAY, "cancelled"),
        ("monitoring-overdue", TODAY, "cancelled"),
        ("denosumab-dose-due", later, "pending"),
    ]


def test_a_cancelled_reminder_of_another_patient_is_not_rearmed(factory: sessionmaker[Session]) -> None:
    add_reminder(factory, "p2", status=ReminderStatus.CANCELLED)
    _reconcile(factory, [finding()])
    with factory() as session:
        rows = session.execute(select(Reminder.patient_id, Reminder.status).order_by(Reminder.id)).all()
    assert [tuple(r) for r in rows] == [("p2", "cancelled"), ("p1", "pending")]


@pytest.mark.parametrize("final", [ReminderStatus.DELIVERED, ReminderStatus.FAILED, ReminderStatus.CLAIMED])
def test_delivered_failed_and_claimed_reminders_are_not_rearmed(
    factory: sessionmaker[Session], final: ReminderStatus
) -> None:
    add_reminder(factory, "p1", status=final)
    _reconcile(factory, [finding()])
    assert _rows(factory) == [("denosumab-dose-due", TODAY, final.value)]


def test_a_deceased_patient_rearms_nothing(factory: sessionmaker[Session]) -> None:
    add_reminder(factory, "p1", status=ReminderStatus.CANCELLED)
    _reconcile(factory, [finding()], deceased=True)
    assert _rows(factory) == [("denosumab-dose-due", TODAY, "cancelled")]
