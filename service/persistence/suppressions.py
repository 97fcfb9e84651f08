"""The cards issued and the suppressions their overrides set: written and read in small transactions.

Blocking functions (call them from a thread in async code), each taking an open session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from service.feedback.policy import Active, Issued, Kind, NewSuppression, SeenAtSelect
from service.kernel.findings import Indicator
from service.persistence._upsert import insert_ignore
from service.persistence.models import IssuedCard, Suppression


def record_issued(
    session: Session, service_id: str, at: datetime, cards: Sequence[tuple[str, Issued]]
) -> int:
    """Remember each (uuid, what it was about) returned by one call."""
    rows = [
        {
            "uuid": uuid,
            "service_id": service_id,
            "hook": card.hook,
            "patient_id": card.patient_id,
            "topic": card.topic,
            "covers": [[topic, indicator.value] for topic, indicator in card.covers],
            "drafts": list(card.drafts),
            "issued_at": at,
        }
        for uuid, card in cards
    ]
    return insert_ignore(session, IssuedCard, rows, ("uuid",))


def issued(session: Session, uuids: Sequence[str]) -> dict[str, Issued]:
    """The issued cards among ``uuids`` (a feedback for an unknown uuid finds nothing)."""
    if not uuids:
        return {}
    found = session.execute(select(IssuedCard).where(IssuedCard.uuid.in_(list(uuids)))).scalars()
    return {
        row.uuid: Issued(
            patient_id=row.patient_id,
            hook=row.hook,
            topic=row.topic,
            covers=tuple((topic, Indicator(indicator)) for topic, indicator in row.covers),
            drafts=tuple(row.drafts),
        )
        for row in found
    }


def suppress(
    session: Session, patient_id: str, card_uuid: str, feedback_id: int, made: Sequence[NewSuppression]
) -> int:
    """Store the suppressions of one override; the same card's again adds none."""
    rows = [
        {
            "patient_id": patient_id,
            "topic": s.topic,
            "kind": s.kind.value,
            "reason": s.reason,
            "indicator": s.indicator.value,
            "drafts": list(s.drafts),
            "card_uuid": card_uuid,
            "feedback_id": feedback_id,
            "starts": s.starts,
            "until": s.until,
        }
        for s in made
    ]
    return insert_ignore(session, Suppression, rows, ("card_uuid", "topic", "kind"))


def _in_force_for(patient: Any, now: datetime) -> tuple[Any, ...]:
    """The conditions of a suppression in force for ``patient`` (an id, or a column to correlate with)."""
    return (
        Suppression.patient_id == patient,
        Suppression.starts <= now,
        Suppression.until > now,
        Suppression.lifted_at.is_(None),
    )


def _in_force(patient_id: str, now: datetime) -> Any:
    return select(Suppression).where(*_in_force_for(patient_id, now))


def in_force(db: Session | Connection, patient_id: str, now: datetime) -> list[Active]:
    """The patient's suppressions in force (on the hook path: a Core read, no ORM objects)."""
    s = Suppression
    rows = db.execute(
        select(s.id, s.topic, s.kind, s.indicator, s.drafts, s.until).where(*_in_force_for(patient_id, now))
    )
    return [
        Active(row.id, row.topic, Kind(row.kind), Indicator(row.indicator), frozenset(row.drafts), row.until)
        for row in rows
    ]


def seen_at_select(db: Session | Connection, patient_id: str, since: datetime) -> list[SeenAtSelect]:
    """The cards returned at order-select for this patient since ``since`` that were about drafts."""
    rows = db.execute(
        select(IssuedCard.covers, IssuedCard.drafts).where(
            IssuedCard.patient_id == patient_id,
            IssuedCard.hook == "order-select",
            IssuedCard.issued_at >= since,
        )
    ).all()
    return [
        SeenAtSelect(topic, Indicator(indicator), frozenset(drafts))
        for covers, drafts in rows
        if drafts
        for topic, indicator in covers
    ]


def lift(session: Session, ids: Sequence[int], now: datetime, because: str) -> int:
    """End suppressions early ("deleted" by a user, or "risen": the finding became more severe)."""
    if not ids:
        return 0
    result = session.execute(
        update(Suppression)
        .where(Suppression.id.in_(list(ids)), Suppression.lifted_at.is_(None))
        .values(lifted_at=now, lifted_because=because)
        .returning(Suppression.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


def listing(session: Session, patient_id: str, now: datetime) -> list[Suppression]:
    """What is quiet for a patient now, soonest end first."""
    query = _in_force(patient_id, now).order_by(Suppression.until, Suppression.id)
    return list(session.execute(query).scalars())


def lift_topic_of(session: Session, suppression_id: int, now: datetime) -> Suppression | None:
    """Lift one suppression and every other in force for the same patient, topic and kind: the topic is
    no longer quiet (two overrides of the topic's cards would otherwise keep it so). None: no such one."""
    row = session.get(Suppression, suppression_id)
    if row is None:
        return None
    same = _in_force(row.patient_id, now).where(Suppression.topic == row.topic, Suppression.kind == row.kind)
    ids = [s.id for s in session.execute(same).scalars()]
    lift(session, [*ids, row.id], now, "deleted")
    return row


def held_topics_clause(patient_column: Any, topic_column: Any, now: datetime) -> Any:
    """SQL: the reminder's patient and topic are under a quiet suppression now (its delivery is held)."""
    return (
        select(Suppression.id)
        .where(
            *_in_force_for(patient_column, now),
            Suppression.topic == topic_column,
            Suppression.kind == Kind.QUIET.value,
        )
        .exists()
    )
