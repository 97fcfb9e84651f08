"""Scan runs: one row per panel scan with its counters, and the batches whose work is committed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.persistence.models import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scan_runs",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("started", UtcDateTime(), nullable=False),
        sa.Column("finished", UtcDateTime(), nullable=True),
        sa.Column("candidates", sa.Integer(), nullable=True),
        sa.Column("evaluated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
    )
    op.create_table(
        "scan_batches",
        sa.Column(
            "run_id",
            _Id,
            sa.ForeignKey("scan_runs.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("batch", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("done_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scan_batches")
    op.drop_table("scan_runs")
