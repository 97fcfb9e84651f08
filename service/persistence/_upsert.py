"""INSERT ... ON CONFLICT DO NOTHING on both dialects: the idempotency of feedback and reminders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.persistence.models import Base


def insert_ignore(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]
) -> int:
    """Insert ``rows``, skipping any that collide on the unique columns ``conflict``; returns rows added."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=conflict)
        return _rowcount(session.execute(pg_stmt))
    if dialect == "sqlite":
        lite_stmt = sqlite.insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=conflict)
        return _rowcount(session.execute(lite_stmt))
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
