"""A reminder whose topic a clinician quieted is held, not lost: pending until the quiet ends."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from service.feedback.policy import Kind, NewSuppression
from service.kernel.findings import Indicator, Topic
from service.persistence.models import Feedback
from service.persistence.suppressions import lift, suppress
from service.reminders.dispatch import dispatch_due
from tests.service.reminders.helpers import NOW, add_reminder, reminder

TOPIC = Topic.DENOSUMAB_DOSE_DUE.value


def _quiet(
    factory: sessionmaker[Session], patient: str, topic: str, days: int, kind: Kind = Kind.QUIET
) -> int:
    with factory.begin() as session:
        feedback = Feedback(
            service_id="bone-health-patient-view",
            card_uuid=f"card-{patient}-{topic}-{kind}",
            outcome="overridden",
            outcome_timestamp=NOW.isoformat(),
            accepted_suggestions=[],
            received_at=NOW,
        )
        session.add(feedback)
        session.flush()
        made = NewSuppression(
            topic, kind, "remind-later", Indicator.WARNING, (), NOW, NOW + timedelta(days=days)
        )
        suppress(session, patient, feedback.card_uuid, feedback.id, [made])
        return feedback.id


def test_a_quiet_topic_holds_the_reminder_until_the_quiet_ends(factory: sessionmaker[Session]) -> None:
    held = add_reminder(factory, "p1", topic=TOPIC)
    other_topic = add_reminder(factory, "p1", topic=Topic.MONITORING_OVERDUE.value)
    other_patient = add_reminder(factory, "p2", topic=TOPIC)
    _quiet(factory, "p1", TOPIC, days=30)
    sent: list[int] = []

    dispatch_due(factory, sent.append, now=NOW)
    assert sorted(sent) == sorted([other_topic, other_patient])
    before_the_end: list[int] = []
    dispatch_due(factory, before_the_end.append, now=NOW + timedelta(days=29, hours=23))
    assert held not in before_the_end
    assert reminder(factory, held).status == "pending"  # held, not cancelled

    at_the_end: list[int] = []
    dispatch_due(factory, at_the_end.append, now=NOW + timedelta(days=30))
    assert held in at_the_end
    assert reminder(factory, held).status == "claimed"


def test_a_lifted_quiet_or_an_order_time_override_holds_nothing(factory: sessionmaker[Session]) -> None:
    lifted = add_reminder(factory, "p1", topic=TOPIC)
    drafted = add_reminder(factory, "p2", topic=TOPIC)
    _quiet(factory, "p1", TOPIC, days=30)
    _quiet(factory, "p2", TOPIC, days=30, kind=Kind.DRAFT)
    with factory.begin() as session:
        from sqlalchemy import select

        from service.persistence.models import Suppression

        ids = session.execute(select(Suppression.id).where(Suppression.patient_id == "p1")).scalars().all()
        assert lift(session, ids, NOW, "deleted") == 1
    sent: list[int] = []
    dispatch_due(factory, sent.append, now=NOW)
    assert sorted(sent) == sorted([lifted, drafted])
