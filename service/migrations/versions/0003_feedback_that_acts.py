"""Feedback that acts: the cards issued (what a feedback's card uuid was about) and the suppressions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.persistence.models import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "issued_cards",
        sa.Column("uuid", sa.String(128), primary_key=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("hook", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(128), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("covers", sa.JSON(), nullable=False),
        sa.Column("drafts", sa.JSON(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_issued_cards_patient", "issued_cards", ["patient_id", "hook", "issued_at"])
    op.create_table(
        "suppressions",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(128), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.Column("drafts", sa.JSON(), nullable=False),
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("feedback_id", _Id, sa.ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts", UtcDateTime(), nullable=False),
        sa.Column("until", UtcDateTime(), nullable=False),
        sa.Column("lifted_at", UtcDateTime(), nullable=True),
        sa.Column("lifted_because", sa.String(32), nullable=True),
        sa.UniqueConstraint("card_uuid", "topic", "kind", name="uq_suppression_card"),
        sa.CheckConstraint("kind IN ('quiet', 'draft')", name="ck_suppression_kind"),
    )
    op.create_index("ix_suppressions_patient", "suppressions", ["patient_id", "until"])


def downgrade() -> None:
    op.drop_index("ix_suppressions_patient", table_name="suppressions")
    op.drop_table("suppressions")
    op.drop_index("ix_issued_cards_patient", table_name="issued_cards")
    op.drop_table("issued_cards")
