"""Clinician feedback on cards, stored idempotently (a resent item changes nothing)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cds_hooks.errors import CdsError
from cds_hooks.models import FeedbackItem
from service.persistence._upsert import insert_ignore
from service.persistence.models import Feedback, utcnow

log = logging.getLogger(__name__)


class SqlFeedbackStore:
    """:class:`cds_hooks.handler.FeedbackStore` on SQLAlchemy; the blocking DB work runs in a thread."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

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
        """Store ``items``; returns how many were new."""
        received = utcnow()
        rows = [_row(service_id, item, received) for item in items]
        with self._factory.begin() as session:
            return insert_ignore(session, Feedback, rows, ("card_uuid", "outcome", "outcome_timestamp"))


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
