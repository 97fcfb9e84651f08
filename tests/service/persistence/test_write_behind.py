"""The writes behind the answers: in order, batched, retried until committed, a bad one alone fails."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service import metrics
from service.persistence.models import HookAudit
from service.persistence.write_behind import Write, WriteBehind
from tests.builders import NOW


@pytest.fixture
def writer(factory: sessionmaker[Session]) -> Iterator[WriteBehind]:
    writes = WriteBehind(factory, first_pause=0.01, longest_pause=0.05)
    writes.start()
    yield writes
    writes.close(timeout=5)


def audit(instance: str, patient: str = "p1", before: Callable[[], None] | None = None) -> Write:
    def apply(session: Session) -> None:
        if before is not None:
            before()
        session.add(
            HookAudit(
                service="s",
                hook_instance=instance,
                issuer=None,
                patient_hash="h",
                topics=[],
                latency_ms=1.0,
                outcome="ok",
                at=NOW,
            )
        )

    return Write("audit", patient, apply)


def written(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.execute(select(HookAudit.hook_instance).order_by(HookAudit.id)).scalars())


def test_writes_are_committed_in_the_order_they_were_submitted(
    writer: WriteBehind, factory: sessionmaker[Session]
) -> None:
    writer.submit(*[audit(f"call-{i}", patient=f"p{i % 3}") for i in range(250)])
    assert writer.settled(timeout=10)
    assert written(factory) == [f"call-{i}" for i in range(250)]


def test_a_passing_error_is_retried_until_the_write_is_committed(
    writer: WriteBehind, factory: sessionmaker[Session]
) -> None:
    failures = iter(range(3))
    before = metrics.DEFERRED_WRITE_RETRIES.labels(kind="audit")._value.get()

    def database_restarting() -> None:
        if next(failures, None) is not None:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    writer.submit(audit("flaky", before=database_restarting), audit("after"))
    assert writer.settled(timeout=10)
    assert written(factory) == ["flaky", "after"]  # nothing lost, order kept
    assert metrics.DEFERRED_WRITE_RETRIES.labels(kind="audit")._value.get() >= before + 3


def test_a_write_that_can_never_succeed_fails_alone_and_is_counted(
    writer: WriteBehind, factory: sessionmaker[Session]
) -> None:
    failed_before = metrics.AUDIT_FAILURES._value.get()

    def broken() -> None:
        raise IntegrityError("INSERT", {}, Exception("violates a constraint"))

    writer.submit(audit("one"), audit("bad", before=broken), audit("two"))
    assert writer.settled(timeout=10)
    assert written(factory) == ["one", "two"]
    assert metrics.AUDIT_FAILURES._value.get() == failed_before + 1


def test_settled_waits_for_one_patients_writes_only(
    writer: WriteBehind, factory: sessionmaker[Session]
) -> None:
    release = threading.Event()
    writer.submit(audit("slow", patient="p1", before=lambda: release.wait(5)))
    assert writer.settled("p2", timeout=0.1)  # nothing of p2's waits
    assert not writer.settled("p1", timeout=0.1)
    release.set()
    assert writer.settled("p1", timeout=5)
    assert written(factory) == ["slow"]


def test_close_writes_what_waits(factory: sessionmaker[Session]) -> None:
    writes = WriteBehind(factory)
    writes.start()
    writes.submit(*[audit(f"last-{i}") for i in range(20)])
    writes.close(timeout=10)
    assert len(written(factory)) == 20


def test_with_too_many_waiting_the_oldest_is_given_up_and_counted(factory: sessionmaker[Session]) -> None:
    writes = WriteBehind(factory, max_pending=2)  # not started: everything waits
    failed_before = metrics.AUDIT_FAILURES._value.get()
    writes.submit(audit("a"), audit("b"), audit("c"))
    assert metrics.AUDIT_FAILURES._value.get() == failed_before + 1
    writes.start()
    writes.close(timeout=10)
    assert written(factory) == ["b", "c"]
