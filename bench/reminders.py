"""Reminder pipeline benchmark (a script, not a test).

Schedules N reminders through ``reconcile`` (the path hooks and scans use), N/10 of them due, then
dispatches the due ones and delivers each as a FHIR Task to a loopback endpoint that implements
conditional create. Delivery runs in a thread pool in this process (no broker), so the numbers are
the database and HTTP cost of the pipeline: in batches of ``--batch-size`` reminders (as the workers
deliver them), or with ``--batch-size 1`` one reminder at a time. Prints throughput and database
statements per reminder, counted with a SQLAlchemy event listener.

    python bench/reminders.py                       # SQLite in a temporary folder
    python bench/reminders.py --batch-size 1        # one reminder at a time (single delivery)
    python bench/reminders.py --database-url postgresql+psycopg://root@127.0.0.1:5432/test?options=-csearch_path%3Dbench
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, event, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.kernel.findings import Finding, Indicator, Topic
from service.persistence import make_engine, migrate, session_factory
from service.persistence.models import Reminder, utcnow
from service.reminders.batch import deliver_batch
from service.reminders.delivery import Outcome, deliver_reminder
from service.reminders.dispatch import dispatch_due
from service.reminders.schedule import reconcile
from service.settings import Settings


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        with self._lock:
            self.count += 1

    def take(self) -> int:
        with self._lock:
            count, self.count = self.count, 0
            return count


def start_endpoint() -> tuple[ThreadingHTTPServer, str, dict[str, str]]:
    tasks: dict[str, str] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The handler writes the headers and the body in two sends. With Nagle's algorithm on, the
        # body waits for the ACK of the headers, which the client delays by up to 40 ms: that, not
        # the service, was what bounded delivery at ~135/s. FHIR servers answer in one send.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            key = self.headers["If-None-Exist"]
            with lock:
                status = 200 if key in tasks else 201
                tasks.setdefault(key, body.decode())
            data = json.dumps({"resourceType": "Task", "id": key}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/fhir", tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--patients-per-transaction", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500, help="dispatcher claim batch")
    parser.add_argument("--workers", type=int, default=8, help="delivery threads")
    parser.add_argument(
        "--batch-size", type=int, default=Settings().delivery_batch_size, help="reminders per delivery batch"
    )
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bhcds-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    migrate(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM reminders"))
    counter = StatementCounter(engine)
    now = utcnow()
    today = now.date()

    # 1. schedule: one time-bound finding per patient, every tenth one due
    started = time.perf_counter()
    for first in range(0, args.reminders, args.patients_per_transaction):
        with factory.begin() as session:
            for i in range(first, min(first + args.patients_per_transaction, args.reminders)):
                due = today - timedelta(days=1) if i < args.due else today + timedelta(days=1 + i % 365)
                finding = Finding(
                    Topic.DENOSUMAB_DOSE_DUE, Indicator.WARNING, {"summary": "dose due"}, due=due
                )
                reconcile(session, f"bench-{i}", [finding], deceased=False, now=now)
    elapsed = time.perf_counter() - started
    statements = counter.take()
    print(f"schedule : {args.reminders} reminders in {elapsed:.1f} s = {args.reminders / elapsed:,.0f}/s, "
          f"{statements / args.reminders:.2f} statements per reminder")  # fmt: skip

    # 2. dispatch: claim every due reminder
    claimed: list[int] = []
    started = time.perf_counter()
    while dispatch_due(factory, claimed.append, now=now, batch=args.batch):
        pass
    elapsed = time.perf_counter() - started
    statements = counter.take()
    print(f"dispatch : {len(claimed)} claimed in {elapsed:.2f} s = {len(claimed) / elapsed:,.0f}/s, "
          f"{statements / max(1, len(claimed)):.3f} statements per reminder")  # fmt: skip

    # 3. deliver: one FHIR Task each, conditional create
    server, fhir_url, tasks = start_endpoint()
    settings = Settings(database_url=url, fhir_base_url=fhir_url)
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=10)
        return local.client  # type: ignore[no-any-return]

    def deliver(ids: list[int]) -> list[Outcome]:
        if len(ids) == 1:
            return [deliver_reminder(factory, ids[0], settings, client=client()).outcome]
        result = deliver_batch(factory, ids, settings, client=client())
        return [r.outcome for r in result.outcomes.values()]

    size = max(1, args.batch_size)
    batches = [claimed[i : i + size] for i in range(0, len(claimed), size)]
    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        outcomes = [o for batch in pool.map(deliver, batches) for o in batch]
    elapsed = time.perf_counter() - started
    statements = counter.take()
    delivered = outcomes.count(Outcome.DELIVERED)
    print(f"deliver  : {delivered} delivered in {elapsed:.1f} s = {delivered / elapsed:,.0f}/s "
          f"({args.workers} threads, batches of {size}), {statements / max(1, delivered):.2f} statements per reminder, "
          f"{len(tasks)} Tasks at the endpoint")  # fmt: skip
    with factory() as session:
        by_status = dict(
            session.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all()
        )
    print(f"status   : {by_status}")
    server.shutdown()
    engine.dispose()


if __name__ == "__main__":
    main()
