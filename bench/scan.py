"""Scan and delivery over real Celery workers: patients per second with 1 and with 2 worker processes.

    python bench/scan.py [--patients 10000] [--workers 1,2] [--fhir-processes 2] [--quick] [--json PATH]

Needs the machine's PostgreSQL (a schema of its own, dropped at the end) and Redis (a key prefix of
its own). A loopback FHIR server serves ``--patients`` synthetic patients on denosumab, each with the
typical chart of bench/_charts.py (50 resources) under its own ids: ``--fhir-processes`` processes
of bench/_fast_http.py sharing one port, or with ``--fhir-processes 0`` the former ``http.server``
threads inside this process (which, at about 150 searches a second, were the bound). For each
worker count, ``celery worker --pool=solo`` processes are started and:

1. scan: the scan task's search runs here (it pages through the candidates and enqueues one batch
   task per 20 patients); timed from its start until the run's row says every candidate is counted;
2. delivery: ``--delivery-reminders`` (default ``--patients``) due reminders are dispatched to the
   workers, ``--delivery-batch`` to a task (1: one task each, the single delivery task), and timed
   until every one is delivered as a FHIR Task. The chart re-read before delivery is off (it costs
   what the scan's evaluation of the patient costs; see docs/performance.md).

``--quick`` runs 200 patients with 1 worker (CI smoke test); its timings are not meant to be read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo: service, cds_hooks, mappings

import _fast_http
import orjson
from _charts import PATIENT_ID, typical
from _stats import machine
from sqlalchemy import func, select, text

from service.celery_app import make_celery
from service.kernel.findings import Finding, Indicator, Topic
from service.persistence import make_engine, migrate, session_factory
from service.persistence.models import Reminder, ScanRun
from service.reminders.dispatch import dispatch_due, dispatch_due_in_batches
from service.reminders.runner import settings_environment
from service.reminders.scan import enqueue_scan
from service.reminders.schedule import reconcile
from service.reminders.tasks import DELIVER_BATCH_TASK, DELIVER_TASK, SCAN_BATCH_TASK
from service.settings import Settings

POSTGRES_URL = os.environ.get("BHCDS_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BHCDS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
_PAGE = 200


class Panel:
    """Every patient has the typical chart under their own ids; the Task endpoint creates once."""

    def __init__(self, patients: int) -> None:
        self.patients = [f"scan{i:06d}" for i in range(patients)]
        request = orjson.loads(typical(datetime.now(UTC)).body)
        by_type: dict[str, list[Any]] = {}
        for key, value in request["prefetch"].items():
            resources = [value] if key == "patient" else [e["resource"] for e in value.get("entry", [])]
            for resource in resources:
                by_type.setdefault(resource["resourceType"], []).append(resource)
        # one template per type: the bench patient's id is swapped for the requested one
        self.templates = {t: orjson.dumps(_bundle(rs)) for t, rs in by_type.items() if t != "Patient"}
        self.patient = orjson.dumps(by_type["Patient"][0])
        self.tasks: set[str] = set()
        self.lock = threading.Lock()

    def get(self, path: str, query: dict[str, list[str]], base: str) -> tuple[int, bytes]:
        rtype = path.rstrip("/").rsplit("/", 1)[-1]
        if path.startswith("/fhir/Patient/"):
            return 200, self.patient.replace(PATIENT_ID.encode(), path.rsplit("/", 1)[1].encode())
        if rtype == "MedicationRequest" and ("code" in query or "page" in query):
            if "page" not in query and "993449" not in query["code"][0]:  # one code chunk lists them
                return 200, orjson.dumps(_bundle([]))
            page = int(query.get("page", ["0"])[0])
            chunk = self.patients[page * _PAGE : (page + 1) * _PAGE]
            bundle = _bundle(
                [
                    {"resourceType": "MedicationRequest", "subject": {"reference": f"Patient/{p}"}}
                    for p in chunk
                ]
            )
            if (page + 1) * _PAGE < len(self.patients):
                bundle["link"] = [{"relation": "next", "url": f"{base}/MedicationRequest?page={page + 1}"}]
            return 200, orjson.dumps(bundle)
        patient = query.get("patient", [""])[0]
        template = self.templates.get(rtype)
        if template is None or not patient:
            return 200, orjson.dumps(_bundle([]))
        return 200, template.replace(PATIENT_ID.encode(), patient.encode())

    def post(self, headers: dict[str, str]) -> tuple[int, bytes]:
        key = headers.get("if-none-exist", "")
        with self.lock:
            created = key not in self.tasks
            self.tasks.add(key)
        return (201 if created else 200), b'{"resourceType":"Task","id":"t"}'


def _bundle(resources: list[Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


@contextmanager
def fhir_server(panel: Panel) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out without waiting for an ACK

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            self._answer(*panel.get(parts.path, parse_qs(parts.query), base))

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._answer(*panel.post({k.lower(): v for k, v in self.headers.items()}))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base
    finally:
        server.shutdown()


@contextmanager
def fast_fhir_server(panel: Panel, processes: int) -> Iterator[str]:
    """The panel on bench/_fast_http.py: ``processes`` processes sharing one port."""

    def handler_for(port: int) -> Any:
        base = f"http://127.0.0.1:{port}/fhir"

        def handle(method: str, target: str, headers: dict[str, str], _body: bytes) -> tuple[int, bytes]:
            if method == "POST":
                return panel.post(headers)
            parts = urlsplit(target)
            return panel.get(parts.path, parse_qs(parts.query), base)

        return handle

    with _fast_http.serve(handler_for, processes) as port:
        yield f"http://127.0.0.1:{port}/fhir"


@contextmanager
def postgres_schema() -> Iterator[str]:
    import psycopg

    from service.persistence._engine import normalise_url

    libpq = normalise_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"bhcds_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        migrate(url)
        yield url
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (/proc/<pid>/stat, Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the line)
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every process of the machine has used so far, over all cores (/proc/stat, Linux):
    beside the workers' own, it shows how much of the machine other work took during a phase."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


@contextmanager
def workers(settings: Settings, count: int, logs: Path) -> Iterator[list[int]]:
    started = []
    for i in range(count):
        log = logs / f"worker-{count}-{i}.log"
        handle = log.open("wb")
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "service.celery_app:app", "worker", "--pool=solo",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
            ],
            env=settings_environment(settings), cwd=logs, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append((process, handle, log))
    try:
        for process, _handle, log in started:
            deadline = time.monotonic() + 60
            while "ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield [process.pid for process, _handle, _log in started]
    finally:
        for process, _handle, _log in started:
            process.terminate()
        for process, handle, _log in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            handle.close()


@contextmanager
def profiled(folder: Path | None, pids: list[int], phase: str) -> Iterator[None]:
    """py-spy records every worker through the phase (raw stacks, idle included), if asked."""
    if folder is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    spies = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--idle",
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(folder / f"{phase}-worker{i}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i, pid in enumerate(pids)
    ]
    try:
        yield
    finally:
        for process in spies:
            process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for process in spies:
            process.wait(timeout=60)


def wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout:.0f} s")
        time.sleep(0.05)


def run_scan(settings: Settings, patients: int, pids: list[int]) -> dict[str, Any]:
    app = make_celery(settings)
    batch = app.tasks[SCAN_BATCH_TASK]
    factory = session_factory(make_engine(settings.database_url))
    now = datetime.now(UTC)
    cpu_before, machine_before = cpu_seconds(pids), machine_busy_seconds()
    started = time.perf_counter()
    run_id = asyncio.run(
        enqueue_scan(
            settings,
            lambda r, b, ids: batch.apply_async(args=[r, b, ids, now.isoformat()]),
            now=now,
            factory=factory,
        )
    )
    searched = time.perf_counter() - started

    def finished() -> bool:
        with factory() as session:
            return session.get(ScanRun, run_id).finished is not None  # type: ignore[union-attr]

    wait(finished, timeout=max(600, patients))
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pids) - cpu_before
    busy = machine_busy_seconds() - machine_before
    with factory() as session:
        run = session.get(ScanRun, run_id)
        assert run is not None
        counts = {"candidates": run.candidates, "evaluated": run.evaluated, "failed": run.failed}
    return {
        **counts,
        "seconds": round(elapsed, 2),
        "search_seconds": round(searched, 2),
        "patients_per_s": round(patients / elapsed, 1),
        "worker_cpu_ms_per_patient": round(cpu * 1000 / patients, 2),
        "workers_cores": round(cpu / elapsed, 2),
        "machine_busy_cores": round(busy / elapsed, 2),
    }


def run_delivery(settings: Settings, patients: int, pids: list[int], batch_size: int) -> dict[str, Any]:
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM reminders"))
    now = datetime.now(UTC)
    due = now.date() - timedelta(days=1)
    for first in range(0, patients, 500):
        with factory.begin() as session:
            for i in range(first, min(first + 500, patients)):
                finding = Finding(
                    Topic.DENOSUMAB_DOSE_DUE, Indicator.WARNING, {"summary": "dose due"}, due=due
                )
                reconcile(session, f"scan{i:06d}", [finding], deceased=False, now=now)
    app = make_celery(settings)
    deliver, deliver_batch = app.tasks[DELIVER_TASK], app.tasks[DELIVER_BATCH_TASK]
    cpu_before, machine_before = cpu_seconds(pids), machine_busy_seconds()
    started = time.perf_counter()
    claimed = 0

    def dispatch() -> int:
        if batch_size == 1:
            return dispatch_due(factory, lambda i: deliver.apply_async(args=[i]), now=now, batch=500)
        return dispatch_due_in_batches(
            factory, lambda ids: deliver_batch.apply_async(args=[ids]), size=batch_size, now=now, batch=500
        )

    while batch := dispatch():
        claimed += batch

    def delivered() -> int:
        with factory() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(Reminder).where(Reminder.status == "delivered")
                )
                or 0
            )

    wait(lambda: delivered() >= claimed, timeout=max(600, patients))
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pids) - cpu_before
    busy = machine_busy_seconds() - machine_before
    engine.dispose()
    return {
        "delivered": claimed,
        "seconds": round(elapsed, 2),
        "per_s": round(claimed / elapsed, 1),
        "worker_cpu_ms_per_reminder": round(cpu * 1000 / max(1, claimed), 2),
        "workers_cores": round(cpu / elapsed, 2),
        "machine_busy_cores": round(busy / elapsed, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker process counts")
    parser.add_argument(
        "--fhir-processes",
        type=int,
        default=2,
        help="processes of the FHIR server; 0: http.server threads here",
    )
    parser.add_argument(
        "--delivery-reminders", type=int, help="due reminders to deliver (default: --patients)"
    )
    parser.add_argument(
        "--delivery-batch",
        type=int,
        default=Settings().delivery_batch_size,
        help="reminders per delivery task; 1: one task each",
    )
    parser.add_argument("--no-scan", action="store_true", help="measure delivery only")
    parser.add_argument("--quick", action="store_true", help="200 patients, 1 worker (CI smoke test)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy (on PATH or in this environment) samples each worker here, idle included",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    patients = 200 if args.quick else args.patients
    counts = [1] if args.quick else [int(w) for w in args.workers.split(",")]
    reminders = args.delivery_reminders or patients
    panel = Panel(patients)
    load_before = os.getloadavg()[0]
    rows = []
    serving = fast_fhir_server(panel, args.fhir_processes) if args.fhir_processes else fhir_server(panel)
    with (
        serving as base,
        postgres_schema() as url,
        tempfile.TemporaryDirectory(prefix="bhcds-scan-") as logs,
    ):
        for count in counts:
            settings = Settings(
                database_url=url,
                broker_url=REDIS_URL,
                celery_namespace=f"bhcds-bench-{uuid.uuid4().hex[:10]}",
                fhir_base_url=base,
                reminder_recheck_chart=False,
                log_level="WARNING",
            )
            with workers(settings, count, Path(logs)) as pids:
                scan = _NO_SCAN
                if not args.no_scan:
                    with profiled(args.profile, pids, f"scan-{count}"):
                        scan = run_scan(settings, patients, pids)
                with profiled(args.profile, pids, f"delivery-{count}"):
                    delivery = run_delivery(settings, reminders, pids, args.delivery_batch)
            _drop_namespace(settings.celery_namespace)
            rows.append({"workers": count, "scan": scan, "delivery": delivery})
            print(
                f"{count} worker(s): scan {scan['evaluated']:,} of {scan['candidates']:,} patients in "
                f"{scan['seconds']:.1f} s = {scan['patients_per_s']:.1f}/s (search and enqueue "
                f"{scan['search_seconds']:.1f} s; worker CPU {scan['worker_cpu_ms_per_patient']:.1f} ms "
                f"per patient); delivery {delivery['delivered']:,} in {delivery['seconds']:.1f} s = "
                f"{delivery['per_s']:.1f}/s (worker CPU {delivery['worker_cpu_ms_per_reminder']:.1f} ms each); "
                f"cores busy, workers / whole machine: scan {scan['workers_cores']} / {scan['machine_busy_cores']}, "
                f"delivery {delivery['workers_cores']} / {delivery['machine_busy_cores']}",
                flush=True,
            )
    result = {
        "machine": machine(),
        "patients": patients,
        "fhir_processes": args.fhir_processes,
        "delivery_reminders": reminders,
        "delivery_batch": args.delivery_batch,
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "runs": rows,
        "quick": args.quick,
    }
    print(
        f"load average {result['load_average_1m'][0]} at the start, {result['load_average_1m'][1]} at the end"
    )
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    complete = all(
        (args.no_scan or r["scan"]["evaluated"] == patients) and r["delivery"]["delivered"] == reminders
        for r in rows
    )
    return 0 if complete else 1


_NO_SCAN: dict[str, Any] = {
    "candidates": 0,
    "evaluated": 0,
    "seconds": 0.0,
    "search_seconds": 0.0,
    "patients_per_s": 0.0,
    "worker_cpu_ms_per_patient": 0.0,
    "workers_cores": 0.0,
    "machine_busy_cores": 0.0,
}


def _drop_namespace(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)


if __name__ == "__main__":
    sys.exit(main())
