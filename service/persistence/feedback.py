"""Clinician feedback on cards, stored idempotently (a resent item changes nothing), and acted on.

An override of a card this service issued sets the suppressions its reason calls for
(:mod:`service.feedback.policy`), in the same transaction as the feedback row. Feedback for a card
uuid the service does not know is stored all the same and answered 200.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cds_hooks.errors import CdsError
from cds_hooks.models import FeedbackItem
from service.feedback.policy import Periods, suppressions_for
from service.kernel.findings import OVERRIDE_SYSTEM
from service.persistence._upsert import insert_ignore
from service.persistence.models import Feedback, utcnow
from service.persistence.suppressions import issued, suppress

log = logging.getLogger(__name__)

_OVERRIDDEN = "overridden"


class SqlFeedbackStore:
    """:class:`cds_hooks.handler.FeedbackStore` on SQLAlchemy; the blocking DB work runs in a thread."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        periods: Periods | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._factory = factory
        self._periods = periods
        self._clock = clock

    async def save(self, service_id: str, items: Sequence[FeedbackItem]) -> None:
        """Store the items; a database outage is a 503 the EHR can retry (saving is idempotent)."""
        try:
            await asyncio.to_thread(self.save_sync, service_id, items)
        except OperationalError as exc:
            log.error("feedback not stored: %s", type(exc).__name__, extra={"service": service_id})
            raise CdsError(
                503,
                "transient",
                "feedback could not be stored now; send it again",
                headers={"Retry-After": "30"},
            ) from None

    def save_sync(self, service_id: str, items: Sequence[FeedbackItem]) -> int:
        """Store ``items`` and the suppressions their overrides set; returns how many items were new."""
        received = self._clock()
        rows = [_row(service_id, item, received) for item in items]
        with self._factory.begin() as session:
            added = insert_ignore(session, Feedback, rows, ("card_uuid", "outcome", "outcome_timestamp"))
            if self._periods is not None:
                self._act(session, items, self._periods)
            return added

    def _act(self, session: Session, items: Sequence[FeedbackItem], periods: Periods) -> None:
        overrides = [i for i in items if i.outcome == _OVERRIDDEN and _reason_code(i) is not None]
        cards = issued(session, [i.card for i in overrides])
        keys = [(i.card, i.outcome, i.outcome_timestamp) for i in overrides if i.card in cards]
        if not keys:
            return
        stored = session.execute(
            select(Feedback.id, Feedback.card_uuid, Feedback.outcome_timestamp, Feedback.received_at).where(
                tuple_(Feedback.card_uuid, Feedback.outcome, Feedback.outcome_timestamp).in_(keys)
            )
        ).all()
        by_key = {(uuid, stamp): (fid, at) for fid, uuid, stamp, at in stored}
        for item in overrides:
            card = cards.get(item.card)
            found = by_key.get((item.card, item.outcome_timestamp))
            code = _reason_code(item)
            if card is None or found is None or code is None:
                continue
            feedback_id, at = found  # the period runs from when the service first heard of it
            suppress(
                session, card.patient_id, item.card, feedback_id, suppressions_for(card, code, at, periods)
            )


def _reason_code(item: FeedbackItem) -> str | None:
    reason = item.override_reason
    coding = reason.reason if reason is not None else None
    if coding is None or coding.code is None:
        return None
    if coding.system not in (None, OVERRIDE_SYSTEM):
        return None
    return coding.code


def _row(service_id: str, item: FeedbackItem, received: Any) -> dict[str, Any]:
    reason = item.override_reason
    coding = reason.reason if reason is not None else None
    return {
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "outcome_timestamp": item.outcome_timestamp,
        "accepted_suggestions": [str(s["id"]) for s in item.accepted_suggestions or [] if "id" in s],
        "override_reason_code": coding.code if coding is not None else None,
        "override_reason_system": coding.system if coding is not None else None,
        "override_comment": reason.user_comment if reason is not None else None,
        "received_at": received,
    }
