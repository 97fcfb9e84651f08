"""Audit retention: hook_audit rows are kept ``BHCDS_AUDIT_RETENTION_DAYS`` days, then deleted.

The audit trail holds no PHI (the patient is a keyed hash), but it still grows by one row per hook
call, and keeping access records longer than the policy asks is a liability of its own. Rows go in
batches so a first prune of a large table never holds one long lock against the hook path.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import HookAudit


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
    removed = 0
    while True:
        with factory.begin() as session:
            ids = (
                session.execute(select(HookAudit.id).where(HookAudit.at < cutoff).limit(batch_size))
                .scalars()
                .all()
            )
            if ids:
                session.execute(delete(HookAudit).where(HookAudit.id.in_(ids)))
        removed += len(ids)
        if len(ids) < batch_size:
            return removed
