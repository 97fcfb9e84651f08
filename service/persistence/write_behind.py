"""Writes the hook's answer does not wait for: reminders, the cards issued, the audit row.

One thread per process takes them in the order they were submitted and commits them in batches (one
transaction for all that waited, so a busy process commits less often than it answers). A write that
fails for a reason that passes (the database is down, locked, restarting) is retried with a growing
pause until it is committed: it is counted, never dropped. A write that can never succeed (it breaks a
constraint) is committed alone, so it cannot hold back the others, then counted and logged as failed.
Only when more than ``max_pending`` writes wait (a long outage) is the oldest given up, and counted.

Order matters per patient (a later evaluation must not be overwritten by an earlier one): one thread,
first in, first out. A reader that needs a patient's writes in the database first (the feedback on a
card just issued, the order-sign after an order-select, ``GET /reminders``) calls :meth:`settled`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Write:
    """One unit of work: ``apply`` adds its rows to an open session (it neither commits nor opens one)."""

    kind: str  # "reminders", "cards-issued", "audit": metrics and logs name it
    patient_id: str
    apply: Callable[[Session], None]


class WriteBehind:
    """A writer thread with its queue. ``start`` it once; ``close`` drains it (at shutdown)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        batch_max: int = 200,
        first_pause: float = 0.1,
        longest_pause: float = 5.0,
        max_pending: int = 100_000,
    ) -> None:
        self._factory = factory
        self._batch_max = batch_max
        self._first_pause = first_pause
        self._longest_pause = longest_pause
        self._max_pending = max_pending
        self._queue: deque[Write] = deque()
        self._by_patient: Counter[str] = Counter()  # submitted, not yet committed or given up
        self._in_flight = 0
        self._changed = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="bhcds-writes", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, *writes: Write) -> None:
        """Queue ``writes`` (never blocks the caller)."""
        with self._changed:
            for write in writes:
                if len(self._queue) >= self._max_pending:
                    self._give_up(self._queue.popleft(), "too many writes waiting")
                self._queue.append(write)
                self._by_patient[write.patient_id] += 1
            metrics.DEFERRED_WRITES_PENDING.set(len(self._queue) + self._in_flight)
            self._changed.notify_all()

    def settled(self, patient_id: str | None = None, timeout: float = 5.0) -> bool:
        """Wait until the writes submitted so far (for ``patient_id``, or all) are committed or given up.
        False when ``timeout`` passed first (the database is down: the caller reads what is there)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._by_patient[patient_id] if patient_id is not None else self._by_patient.total():
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._changed.wait(left)
            return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what waits (for at most ``timeout`` seconds), then stop the thread."""
        if not self._thread.is_alive():
            return
        self.settled(timeout=timeout)
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout=1.0)
        with self._changed:
            for write in self._queue:
                self._give_up(write, "shutting down")
            self._queue.clear()

    # --- the writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closing:
                    self._changed.wait()
                if self._closing:
                    return
                batch = [self._queue.popleft() for _ in range(min(self._batch_max, len(self._queue)))]
                self._in_flight = len(batch)
            try:
                self._commit(batch)
            except Exception:  # the thread must outlive any surprise; the writes are accounted for below
                log.exception("deferred writes: unexpected error")
                for write in batch:
                    self._count_failure(write, "unexpected error")
            finally:
                with self._changed:
                    for write in batch:
                        self._done(write)
                    self._in_flight = 0
                    metrics.DEFERRED_WRITES_PENDING.set(len(self._queue))
                    self._changed.notify_all()

    def _commit(self, batch: Sequence[Write]) -> None:
        """All in one transaction; on a lasting error, each alone (the bad one fails, the rest commit)."""
        pause = self._first_pause
        while True:
            try:
                with self._factory.begin() as session:
                    for write in batch:
                        write.apply(session)
                return
            except Exception as exc:
                if not _passing(exc):
                    break
                if self._closing_now():
                    for write in batch:
                        self._count_failure(write, "shutting down")
                    return
                for write in batch:
                    metrics.DEFERRED_WRITE_RETRIES.labels(kind=write.kind).inc()
                log.warning("deferred writes: %s; retrying in %.1f s", type(exc).__name__, pause)
                time.sleep(pause)
                pause = min(pause * 2, self._longest_pause)
        if len(batch) == 1:
            self._count_failure(batch[0], "the database refused it")
            return
        for write in batch:
            self._commit([write])

    def _closing_now(self) -> bool:
        with self._changed:
            return self._closing

    def _done(self, write: Write) -> None:
        self._by_patient[write.patient_id] -= 1
        if self._by_patient[write.patient_id] <= 0:
            del self._by_patient[write.patient_id]

    def _give_up(self, write: Write, why: str) -> None:
        """Called with the lock held: the write leaves the queue unwritten."""
        self._count_failure(write, why)
        self._done(write)

    @staticmethod
    def _count_failure(write: Write, why: str = "failed") -> None:
        log.error("%s write not committed (%s)", write.kind, why)
        counter = metrics.WRITE_FAILURES.get(write.kind)
        if counter is not None:
            counter.inc()


def _passing(exc: Exception) -> bool:
    """A database that is down, restarting or locked: the same write will succeed later."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
