"""The hook audit trail. Patients appear only as an HMAC of their id, so the table holds no PHI."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from service.persistence.models import HookAudit, utcnow

log = logging.getLogger(__name__)


def patient_hash(secret: str | bytes, patient_id: str) -> str:
    """HMAC-SHA256 of the patient id: the same patient links across calls, the id is not readable."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()


def audit_secret(configured: str | None) -> str:
    """The configured key, or one random key per process (hashes then link only within that process)."""
    return configured if configured else _process_secret()


@lru_cache(maxsize=1)
def _process_secret() -> str:
    log.warning("BHCDS_AUDIT_HMAC_SECRET is not set: audit patient hashes use a random per-process key")
    return secrets.token_hex(32)


def record_audit(factory: sessionmaker[Session], **row: Any) -> None:
    """Write one audit row in a transaction of its own (blocking: call it from a thread in async code)."""
    with factory.begin() as session:
        add_audit(session, **row)


def add_audit(
    session: Session,
    *,
    secret: str | bytes,
    service: str,
    hook_instance: str,
    issuer: str | None,
    patient_id: str,
    topics: Sequence[str],
    latency_ms: float,
    outcome: str,
    at: datetime | None = None,
) -> None:
    """Add one audit row to ``session``'s transaction (a Core insert: one row needs no unit of work)."""
    session.execute(
        insert(HookAudit),
        {
            "service": service,
            "hook_instance": hook_instance,
            "issuer": issuer,
            "patient_hash": patient_hash(secret, patient_id),
            "topics": list(topics),
            "latency_ms": latency_ms,
            "outcome": outcome,
            "at": at or utcnow(),
        },
    )
