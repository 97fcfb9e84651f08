"""INSERT ... ON CONFLICT DO NOTHING on both dialects: the idempotency of feedback and reminders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Result, literal_column
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
    added: Result[Any]
    if dialect == "postgresql":
        pg = postgresql.insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=conflict)
        added = session.execute(pg.returning(literal_column("1")))
    elif dialect == "sqlite":
        lite = sqlite.insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=conflict)
        added = session.execute(lite.returning(literal_column("1")))
    else:
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    return len(added.all())  # RETURNING counts reliably; rowcount of a multi-row insert may be -1
