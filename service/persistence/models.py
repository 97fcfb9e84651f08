"""The tables: clinician feedback, the cards issued and the suppressions feedback sets, reminders (the schedule), the hook audit trail, and scan runs.

Timestamps are stored in UTC. SQLite keeps no time zone, so :class:`UtcDateTime` stores naive UTC
there and always hands back aware UTC datetimes, on both dialects.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
_Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class ReminderStatus(StrEnum):
    PENDING = "pending"  # waiting for its due date
    CLAIMED = "claimed"  # a dispatcher handed it to a worker
    DELIVERED = "delivered"
    CANCELLED = "cancelled"  # the finding no longer holds (or the patient died)
    FAILED = "failed"  # permanent error or out of attempts; visible, never retried


class Feedback(Base):
    """One CDS Hooks feedback item; (card, outcome, outcomeTimestamp) makes a resend a no-op."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_item"),)

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(128))
    card_uuid: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    outcome_timestamp: Mapped[str] = mapped_column(String(64))  # as sent: the idempotency key uses it
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON, default=list)
    override_reason_code: Mapped[str | None] = mapped_column(String(128))
    override_reason_system: Mapped[str | None] = mapped_column(String(255))
    override_comment: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssuedCard(Base):
    """A card the service returned: feedback carries only the card's uuid, this says what it was about.

    ``covers`` lists the topics the card stands for with their indicators (one, or the folded topics of
    the "more findings" card); ``drafts`` the keys of the draft orders an order-time card was about
    (resource and a hash of its medication, dose and route). Kept as long as the audit.
    """

    __tablename__ = "issued_cards"
    __table_args__ = (Index("ix_issued_cards_patient", "patient_id", "hook", "issued_at"),)

    uuid: Mapped[str] = mapped_column(String(128), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(128))
    hook: Mapped[str] = mapped_column(String(32))
    patient_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))  # the card's own topic (``more-findings`` when folded)
    covers: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [[topic, indicator], ...]
    drafts: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suppression(Base):
    """A topic made quiet for one patient by a clinician's override (architecture.md, Feedback).

    ``kind`` ``quiet``: no patient-view card and no reminder delivery until ``until`` (unless the finding's
    indicator rises above ``indicator``). ``kind`` ``draft``: at order time, no card of the topic for the
    same unchanged drafts (``drafts``). One row per (card, topic, kind): the same card overridden again,
    or through two API processes, adds none.
    """

    __tablename__ = "suppressions"
    __table_args__ = (
        UniqueConstraint("card_uuid", "topic", "kind", name="uq_suppression_card"),
        CheckConstraint("kind IN ('quiet', 'draft')", name="ck_suppression_kind"),
        Index("ix_suppressions_patient", "patient_id", "until"),
    )

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))  # the override reason's code
    indicator: Mapped[str] = mapped_column(String(16))  # the card's, when it was overridden
    drafts: Mapped[list[str]] = mapped_column(JSON, default=list)
    card_uuid: Mapped[str] = mapped_column(String(128))
    feedback_id: Mapped[int] = mapped_column(_Id, ForeignKey("feedback.id", ondelete="CASCADE"))
    starts: Mapped[datetime] = mapped_column()
    until: Mapped[datetime] = mapped_column()
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_because: Mapped[str | None] = mapped_column(String(32))  # "deleted" or "risen"


class Reminder(Base):
    """One reminder per (patient, topic, due date): the database, not the broker, is the schedule."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("patient_id", "topic", "due_date", name="uq_reminder_due"),
        UniqueConstraint("task_key", name="uq_reminder_task_key"),
        CheckConstraint(
            "status IN ('pending', 'claimed', 'delivered', 'cancelled', 'failed')", name="ck_reminder_status"
        ),
        Index("ix_reminders_status_due", "status", "due_date"),
        Index("ix_reminders_patient", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)  # the card summary: no other patient data
    task_key: Mapped[str] = mapped_column(String(255))  # "<patient>|<topic>|<due>": the FHIR Task identifier
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()


class HookAudit(Base):
    """Who called which hook and what came back; the patient only as a keyed hash."""

    __tablename__ = "hook_audit"
    __table_args__ = (Index("ix_hook_audit_at", "at"),)

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(128))
    hook_instance: Mapped[str] = mapped_column(String(128))
    issuer: Mapped[str | None] = mapped_column(String(512))
    patient_hash: Mapped[str] = mapped_column(String(64))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    latency_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ScanRun(Base):
    """One panel scan: its candidates are evaluated in batches, by whichever workers take them.

    ``candidates`` is None while the search for them runs; the run is ``finished`` when every
    candidate was evaluated or failed (counted by the batches, each once: see :class:`ScanBatch`).
    """

    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=True)
    started: Mapped[datetime] = mapped_column(default=utcnow)
    finished: Mapped[datetime | None] = mapped_column()
    candidates: Mapped[int | None] = mapped_column(Integer)
    evaluated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class ScanBatch(Base):
    """A batch of a scan run whose work is committed: a batch delivered twice counts once."""

    __tablename__ = "scan_batches"

    run_id: Mapped[int] = mapped_column(
        _Id, ForeignKey("scan_runs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    batch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    done_at: Mapped[datetime] = mapped_column(default=utcnow)


def task_key(patient_id: str, topic: str, due: date) -> str:
    """The stable identifier of a reminder's FHIR Task; the same finding always gives the same key."""
    return f"{patient_id}|{topic}|{due.isoformat()}"
