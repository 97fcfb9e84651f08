"""Audit retention: hook_audit rows, and the cards issued (what feedback ties to), are kept
``BHCDS_AUDIT_RETENTION_DAYS`` days, then deleted. Suppressions carry what they need of their card.

The audit trail holds no PHI (the patient is a keyed hash), but it still grows by one row per hook
call, and keeping access records longer than the policy asks is a liability of its own. Rows go in
batches so a first prune of a large table never holds one long lock against the hook path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import HookAudit, IssuedCard


def prune_audit(
    factory: sessionmaker[Session], now: datetime, retention_days: int, *, batch_size: int = 5000
) -> int:
    """Delete audit rows written before ``now - retention_days``; returns how many went.

    Blocking (call it from a worker or a thread). ``retention_days`` below 1 is refused: a typo of
    0 must not wipe the trail.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, not {retention_days}")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    cutoff = now - timedelta(days=retention_days)
    removed = _prune(factory, HookAudit.id, HookAudit.at, cutoff, batch_size)
    return removed + _prune(factory, IssuedCard.uuid, IssuedCard.issued_at, cutoff, batch_size)


def _prune(factory: sessionmaker[Session], key: Any, at: Any, cutoff: datetime, batch_size: int) -> int:
    removed = 0
    while True:
        with factory.begin() as session:
            ids = session.execute(select(key).where(at < cutoff).limit(batch_size)).scalars().all()
            if ids:
                session.execute(delete(key.class_).where(key.in_(ids)))
        removed += len(ids)
        if len(ids) < batch_size:
            return removed
