"""INSERT ... ON CONFLICT DO NOTHING on both dialects: the idempotency of feedback and reminders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Executable, Table, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.persistence.models import Base


def insert_ignore(
    session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]
) -> int:
    """Insert ``rows``, skipping any that collide on the unique columns ``conflict``; returns rows added."""
    if not rows:
        return 0
    statement = _statement(session.get_bind().dialect.name, model, tuple(conflict))
    # One cached statement with a parameter list (SQLAlchemy batches it into multi-row INSERTs);
    # RETURNING counts reliably where the rowcount of a batch may be -1.
    return len(session.connection().execute(statement, [dict(r) for r in rows]).all())


@lru_cache(maxsize=32)
def _statement(dialect: str, model: type[Base], conflict: tuple[str, ...]) -> Executable:
    table = cast(Table, model.__table__)
    if dialect == "postgresql":
        pg = postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict)
        return pg.returning(literal_column("1"))
    if dialect == "sqlite":
        lite = sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict)
        return lite.returning(literal_column("1"))
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")
