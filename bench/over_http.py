"""Over-HTTP benchmark: a real `bone-health-cds serve` process, one call at a time, beside the floor.

    python bench/over_http.py [--quick] [--database sqlite|postgresql] [--json PATH]

Starts the server from this interpreter's environment on a free loopback port (auth off, no
reminder workers; SQLite in a temporary folder, or ``--database postgresql``: the PostgreSQL at
``--postgres-url`` in a schema of its own, dropped at the end). Then, for the typical request (50
resources, order-select) and the heavy one (700 resources, patient-view) of bench/_charts.py, sends
the same chart N times in sequence on one keep-alive connection, after a warm-up, each call with a
fresh ``hookInstance``. Beside every call the client times ``orjson.loads`` of the same request
bytes: the floor, measured in the same run. Reported: median and p95 latency, median/floor,
p95/median, and the server's own stage timings read from its "hook call" log lines.

"First sight" sends a chart the process has never seen: the same clinical picture with the patient
id and every resource id renamed for each call (the mapping's memos still know the codes; the
verdicts on whole resources miss, as for a new patient).

``--quick`` makes a few calls of each (CI smoke test); its timings are not meant to be read.
The module is not named ``http.py``: it would shadow the standard library's ``http`` for every
script in this folder.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo: service, cds_hooks, mappings

import orjson
from _charts import BenchRequest, heavy, typical
from _stats import machine, summarise

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HOST = "127.0.0.1"  # loopback only
POSTGRES_URL = os.environ.get("BHCDS_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
_TEMPLATE_INSTANCE = b"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"  # the hookInstance _charts writes
# the stages the server logs (cds_hooks/_call_log.py, service/app.py), in the order they happen;
# (the writes run behind the answer, on the process's writer thread: not a stage of the call)
STAGES = ("protocol", "mapping", "rules", "feedback", "cards", "respond")


@dataclass(frozen=True)
class Plan:
    warmup: int
    calls: dict[str, int]  # request name -> calls
    first_sight: dict[str, int]


FULL = Plan(20, {"typical": 1000, "heavy": 200}, {"typical": 300, "heavy": 100})
QUICK = Plan(2, {"typical": 5, "heavy": 3}, {"typical": 3, "heavy": 2})


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A schema of its own on the machine's PostgreSQL; yields a URL whose search_path is it."""
    import psycopg

    from service.persistence._engine import normalise_url

    libpq = normalise_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"bhcds_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{server_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class Server:
    """`bone-health-cds serve --no-workers` from this environment, its JSON log in a file.

    ``tree`` runs the server from another checkout of the code (``python -m service.cli`` with that
    folder first on the path; bench/ab.py compares commits that way), ``env`` adds settings.
    """

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        *,
        tree: Path | None = None,
        env: dict[str, str] | None = None,
        name: str = "server",
    ) -> None:
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("BHCDS_")}
        environ |= {
            "BHCDS_AUTH_ENABLED": "false",
            "BHCDS_DATABASE_URL": database_url,
            "BHCDS_LOG_LEVEL": "INFO",
        }
        environ |= env or {}
        script = Path(sys.executable).parent / "bone-health-cds"
        if tree is not None:
            environ["PYTHONPATH"] = str(tree)
            command = [sys.executable, "-m", "service.cli"]
        else:
            command = [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]
        command += ["serve", "--host", HOST, "--port", str(self.port), "--no-workers", "--api-processes", "1"]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=tree or workdir, env=environ, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}:\n{self.log_text()[-3000:]}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout_s:.0f} s")

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def hook_calls(self) -> dict[str, dict[str, Any]]:
        """The server's "hook call" log lines, by hookInstance."""
        calls = {}
        for line in self.log_text().splitlines():
            if '"hook call"' not in line:
                continue
            entry = orjson.loads(line)
            if entry.get("msg") == "hook call" and entry.get("hook_instance"):
                calls[entry["hook_instance"]] = entry
        return calls

    def rss_mib(self) -> float:
        """The server process's resident set size now (/proc/<pid>/statm, Linux)."""
        pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def with_instance(body: bytes) -> tuple[bytes, str]:
    """The request with a fresh hookInstance (a uuid of the same length, so the same size)."""
    instance = str(uuid.uuid4())
    return body.replace(_TEMPLATE_INSTANCE, instance.encode(), 1), instance


def renamed(body: bytes, tag: str) -> bytes:
    """The same chart for another patient: the patient and every resource id prefixed with ``tag``,
    with the references, fullUrls, patientId and selections that name them."""
    request = orjson.loads(body)
    ids: dict[str, str] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "resourceType" in node and isinstance(node.get("id"), str):
                ids[f"{node['resourceType']}/{node['id']}"] = f"{node['resourceType']}/{tag}{node['id']}"
                node["id"] = f"{tag}{node['id']}"
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    def relink(text: str) -> str:
        old = "/".join(text.rsplit("/", 2)[-2:])  # "Type/id" at the end of a reference or URL
        new = ids.get(old)
        return text if new is None else text[: len(text) - len(old)] + new

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: relink(v) if k in ("reference", "fullUrl") and isinstance(v, str) else rewrite(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    collect(request["prefetch"])
    collect(request["context"].get("draftOrders") or {})
    request = rewrite(request)
    context = request["context"]
    context["patientId"] = f"{tag}{context['patientId']}"
    if "selections" in context:
        context["selections"] = [relink(s) for s in context["selections"]]
    return orjson.dumps(request)


@dataclass
class Call:
    instance: str
    status: int
    topics: list[str]
    seconds: float
    floor_seconds: float


class Client:
    """One keep-alive HTTP/1.1 connection (http.client: little client-side cost in the timing)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def call(self, request: BenchRequest, body: bytes, instance: str) -> Call:
        headers = {"Content-Type": "application/json"}
        clock = time.perf_counter
        start = clock()
        self.conn.request("POST", f"/cds-services/{request.service}", body, headers)
        response = self.conn.getresponse()
        answer = response.read()
        middle = clock()
        orjson.loads(body)
        end = clock()
        topics = []
        if response.status == 200:
            topics = sorted(card["source"]["topic"]["code"] for card in orjson.loads(answer)["cards"])
        return Call(instance, response.status, topics, middle - start, end - middle)

    def close(self) -> None:
        self.conn.close()


def measure(
    client: Client,
    request: BenchRequest,
    name: str,
    calls: int,
    warmup: int,
    body_for: Callable[[int], bytes],
) -> tuple[dict[str, Any], list[Call]]:
    """``warmup`` then ``calls`` calls in sequence; the bodies are made before each call, untimed."""
    for i in range(warmup):
        client.call(request, *with_instance(body_for(-1 - i)))
    made = [client.call(request, *with_instance(body_for(i))) for i in range(calls)]
    answered = [c for c in made if c.status == 200 and request.expect <= set(c.topics)]
    timing = summarise([c.seconds for c in made])
    floor = summarise([c.floor_seconds for c in made])
    row = {
        "name": name,
        "service": request.service,
        "resources": request.resources,
        "bytes": len(request.body),
        "calls": len(made),
        "statuses": sorted({c.status for c in made}),
        "answered": len(answered),
        "topics": sorted({t for c in made for t in c.topics}),
        "expected_topics": sorted(request.expect),
        "latency": timing.as_json(),
        "floor": floor.as_json(),
        "median_over_floor": round(timing.median_ms / floor.median_ms, 2),
        "p95_over_median": round(timing.p95_ms / timing.median_ms, 2),
    }
    return row, made


def server_stages(row: dict[str, Any], made: list[Call], logged: dict[str, dict[str, Any]]) -> None:
    """Medians of the server's own figures for these calls (its log line per hookInstance)."""
    lines = [logged[c.instance] for c in made if c.instance in logged]
    row["server_lines"] = len(lines)
    if not lines:
        row["server_latency_median_ms"] = None
        row["server_stages_median_ms"] = {}
        return
    row["server_latency_median_ms"] = round(statistics.median(line["latency_ms"] for line in lines), 3)
    names = [s for s in STAGES if any(s in line.get("stages_ms", {}) for line in lines)]
    row["server_stages_median_ms"] = {
        s: round(statistics.median(line.get("stages_ms", {}).get(s, 0.0) for line in lines), 3) for s in names
    }


def run(plan: Plan, database: str, postgres_url: str, workdir: Path) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    now = datetime.now(UTC)  # the server runs on the real clock
    requests = {"typical": typical(now), "heavy": heavy(now)}
    with _database(database, postgres_url, workdir) as database_url:
        server = Server(workdir, database_url)
        try:
            server.wait_ready()
            client = Client(server.port)
            measured: list[tuple[dict[str, Any], list[Call]]] = []
            for name, request in requests.items():
                measured.append(
                    measure(
                        client, request, name, plan.calls[name], plan.warmup, lambda _i, b=request.body: b
                    )
                )
            for name, request in requests.items():
                run_tag = uuid.uuid4().hex[:6]

                def fresh(i: int, b: bytes = request.body, t: str = run_tag) -> bytes:
                    return renamed(b, f"{t}{i + 1_000_000}-")

                measured.append(
                    measure(
                        client, request, f"{name}, first sight", plan.first_sight[name], plan.warmup, fresh
                    )
                )
            client.close()
            time.sleep(0.2)  # the last log lines reach the file
            logged = server.hook_calls()
        finally:
            server.stop()
    for row, made in measured:
        server_stages(row, made, logged)
    rows = [row for row, _ in measured]
    return {
        "machine": machine(),
        "database": database,
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "requests": [r for r in rows if "first sight" not in r["name"]],
        "first_sight": [r for r in rows if "first sight" in r["name"]],
    }


@contextmanager
def _database(kind: str, postgres_url: str, workdir: Path) -> Iterator[str]:
    if kind == "postgresql":
        with postgres_schema(postgres_url) as url:
            yield url
    else:
        yield f"sqlite:///{workdir}/bench.db"


def report(result: dict[str, Any]) -> str:
    m, load = result["machine"], result["load_average_1m"]
    lines = [
        f"machine: nproc {m['nproc']}, {m['cpu']}, Python {m['python']}; database {result['database']}; "
        f"load average {load[0]} at the start, {load[1]} at the end",
        "",
        f"{'request':<22}{'calls':>6}{'median':>10}{'p95':>10}{'floor':>9}{'med/floor':>10}{'p95/med':>8}"
        f"{'server':>9}  server stages (median ms)",
    ]
    for r in result["requests"] + result["first_sight"]:
        stages = " ".join(f"{k} {v:.2f}" for k, v in r["server_stages_median_ms"].items())
        server = r["server_latency_median_ms"]
        lines.append(
            f"{r['name']:<22}{r['calls']:>6}{r['latency']['median_ms']:>8.2f}ms{r['latency']['p95_ms']:>8.2f}ms"
            f"{r['floor']['median_ms']:>7.3f}ms{r['median_over_floor']:>9.1f}×{r['p95_over_median']:>7.2f}×"
            f"{server if server is None else f'{server:.2f}':>7}ms  {stages}"
        )
    lines.append("")
    lines.append(
        "median = client-side latency of one call on a keep-alive connection; floor = orjson.loads of the"
    )
    lines.append("same bytes in the client; server = latency_ms of the server's own log line for the call")
    for r in result["requests"] + result["first_sight"]:
        if r["answered"] != r["calls"]:
            lines.append(
                f"WRONG ANSWER: {r['name']}: {r['calls'] - r['answered']} of {r['calls']} calls; statuses "
                f"{r['statuses']}, topics {r['topics']}, expected {r['expected_topics']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a few calls (CI smoke test); timings not meaningful"
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="the server for --database postgresql")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bhcds-http-") as workdir:
        result = run(QUICK if args.quick else FULL, args.database, args.postgres_url, Path(workdir))
    result["quick"] = args.quick
    print(report(result))
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    wrong = [r for r in result["requests"] + result["first_sight"] if r["answered"] != r["calls"]]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
