"""Clinician feedback on cards, stored idempotently (a resent item changes nothing), and acted on.

An override of a card this service issued sets the suppressions its reason calls for
(:mod:`service.feedback.policy`), in the same transaction as the feedback row. Feedback for a card
uuid the service does not know is stored all the same and answered 200.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cds_hooks.errors import CdsError
from cds_hooks.models import FeedbackItem
from service.feedback.policy import Issued, Periods, suppressions_for
from service.kernel.findings import OVERRIDE_SYSTEM
from service.persistence._upsert import insert_ignore
from service.persistence.models import Feedback, utcnow
from service.persistence.suppressions import issued, suppress

log = logging.getLogger(__name__)

_OVERRIDDEN = "overridden"
_SETTLE_SECONDS = 5.0  # at most, for the writes behind this process's answers (they take milliseconds)


Settle = Callable[..., bool]


class SqlFeedbackStore:
    """:class:`cds_hooks.handler.FeedbackStore` on SQLAlchemy; the blocking DB work runs in a thread.

    ``settle`` waits for this process's writes behind its answers (the cards just issued among them)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        periods: Periods | None = None,
        clock: Callable[[], datetime] = utcnow,
        settle: Settle | None = None,
    ) -> None:
        self._factory = factory
        self._periods = periods
        self._clock = clock
        self._settle = settle

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
        if self._settle is not None:
            self._settle(timeout=_SETTLE_SECONDS)
        received = self._clock()
        rows = [_row(service_id, item, received) for item in items]
        with self._factory.begin() as session:
            added = insert_ignore(session, Feedback, rows, ("card_uuid", "outcome", "outcome_timestamp"))
            if self._periods is not None:
                act_on_feedback(session, [i.card for i in items if i.outcome == _OVERRIDDEN], self._periods)
            return added


def act_on_feedback(
    session: Session, card_uuids: Sequence[str], periods: Periods, known: Mapping[str, Issued] | None = None
) -> None:
    """Set the suppressions of every override stored for these cards that the service issued.

    Called when feedback arrives and again when cards are remembered: whichever of the two reaches the
    database second ties them (an API process may hear the feedback on another's card first). Idempotent:
    a card's suppressions are set once, by its earliest override. ``known``: the cards, when the caller
    has them (it just issued them).
    """
    cards = dict(known) if known is not None else issued(session, card_uuids)
    if not cards:
        return
    overrides = session.execute(
        select(
            Feedback.id,
            Feedback.card_uuid,
            Feedback.override_reason_code,
            Feedback.override_reason_system,
            Feedback.received_at,
        )
        .where(Feedback.card_uuid.in_(list(cards)), Feedback.outcome == _OVERRIDDEN)
        .order_by(Feedback.received_at, Feedback.id)
    ).all()
    for feedback_id, uuid, code, system, at in overrides:
        if code is None or system not in (None, OVERRIDE_SYSTEM):
            continue  # feedback acts on our reason codes, never on a display or another system's code
        card = cards[uuid]
        suppress(session, card.patient_id, uuid, feedback_id, suppressions_for(card, code, at, periods))


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
