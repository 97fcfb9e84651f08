"""Feedback is stored once per (card, outcome, outcomeTimestamp), whatever the EHR resends."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cds_hooks.models import FeedbackItem
from service.persistence import SqlFeedbackStore
from service.persistence.models import Feedback


def _item(outcome: str = "overridden", at: str = "2026-11-27T09:00:00Z") -> FeedbackItem:
    body: dict[str, object] = {"card": "card-1", "outcome": outcome, "outcomeTimestamp": at}
    if outcome == "overridden":
        body["overrideReason"] = {
            "reason": {"system": "urn:bone-health-cds:override", "code": "patient-declined"},
            "userComment": "declined today",
        }
    else:
        body["acceptedSuggestions"] = [{"id": "sugg-1"}, {"id": "sugg-2"}]
    return FeedbackItem.model_validate(body)


def test_resent_feedback_is_stored_once(factory: sessionmaker[Session]) -> None:
    store = SqlFeedbackStore(factory)
    asyncio.run(store.save("bone-health-patient-view", [_item()]))
    asyncio.run(store.save("bone-health-patient-view", [_item(), _item()]))
    with factory() as session:
        rows = session.execute(select(Feedback)).scalars().all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.service_id, row.card_uuid, row.outcome) == (
        "bone-health-patient-view",
        "card-1",
        "overridden",
    )
    assert (row.override_reason_code, row.override_comment) == ("patient-declined", "declined today")


def test_other_outcome_or_time_is_a_new_item(factory: sessionmaker[Session]) -> None:
    store = SqlFeedbackStore(factory)
    added = store.save_sync("svc", [_item(), _item("accepted"), _item(at="2026-11-27T09:05:00Z")])
    assert added == 3
    with factory() as session:
        accepted = session.execute(select(Feedback).where(Feedback.outcome == "accepted")).scalar_one()
    assert accepted.accepted_suggestions == ["sugg-1", "sugg-2"]
