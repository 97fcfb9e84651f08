"""HTTP load test: wrk at fixed rates against a real `bone-health-cds serve --no-workers` on loopback.

    python bench/load.py [--rates 50,100,200] [--duration 20] [--connections 16] [--api-processes 1,2]
                         [--database sqlite|postgresql] [--json PATH]

Starts the server as a subprocess on 127.0.0.1 (``serve --no-workers --api-processes N``, auth off,
SQLite in a temporary folder or a PostgreSQL schema of its own, production JSON logs to a file
there), checks that the typical order-select request is answered 200 with the expected card, then
runs wrk (Debian: ``apt-get install -y wrk``; only this benchmark needs it) once per rate with
bench/paced_post.lua, which paces sends to the rate. Every run is bounded: ``duration`` seconds at
``rate`` requests per second, to loopback only. Prints throughput, p50/p95/p99 latency, errors, the
server's resident memory (all its processes) before and after each run, and the reminder or audit
writes that failed (the cards still go out when they do, so a run must show none).
With several ``--api-processes`` counts, each gets a server of its own, one after the other.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo: service, cds_hooks, mappings

import httpx
import orjson
from _charts import BenchRequest, typical
from _stats import machine

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LUA = HERE / "paced_post.lua"
HOST = "127.0.0.1"  # loopback only
P95_TARGET_MS = 20.0  # at the highest rate, with zero errors
_WRITE_FAILURES = ("reminder scheduling failed", "audit write failed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """`bone-health-cds serve --no-workers --api-processes N` (as ``python -m service.cli``)."""

    def __init__(self, workdir: Path, database_url: str, processes: int) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = workdir / f"server-{processes}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BHCDS_")}
        env |= {"BHCDS_AUTH_ENABLED": "false", "BHCDS_DATABASE_URL": database_url}
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "service.cli", "serve", "--host", HOST, "--port", str(self.port),
                "--no-workers", "--api-processes", str(processes),
            ],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout_s:.0f} s")

    def rss_mib(self) -> float:
        """Resident memory of the server and every process under it (uvicorn's API processes)."""
        pids, children = [self.process.pid], _children()
        for pid in pids:
            pids.extend(children.get(pid, []))
        total = 0
        for pid in pids:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return round(total * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)

    def write_failures(self) -> int:
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return sum(text.count(failure) for failure in _WRITE_FAILURES)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc (Linux)."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def check_answer(base: str, request: BenchRequest) -> list[str]:
    """The topics of one real answer; raises unless it is a 200 with the expected cards."""
    response = httpx.post(
        f"{base}/cds-services/{request.service}",
        content=request.body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    if response.status_code != 200:
        raise RuntimeError(f"check request: status {response.status_code}: {response.text[:300]}")
    topics = sorted(card["source"]["topic"]["code"] for card in response.json()["cards"])
    if not request.expect <= set(topics):
        raise RuntimeError(f"check request: expected {sorted(request.expect)}, got {topics}")
    return topics


def run_wrk(
    url: str, body_file: Path, rate: int, duration_s: int, connections: int, threads: int
) -> dict[str, Any]:
    env = {**os.environ, "BENCH_BODY": str(body_file), "BENCH_RATE": str(rate), "BENCH_THREADS": str(threads)}
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        url,
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=True
    )
    found = re.search(r"^BENCH_JSON (.*)$", done.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    raw: dict[str, Any] = orjson.loads(found.group(1))
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "rate": rate,
        "duration_s": round(raw["duration_us"] / 1e6, 2),
        "requests": raw["requests"],
        "throughput_rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "errors_by_kind": {k.removeprefix("errors_"): v for k, v in raw.items() if k.startswith("errors_")},
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"machine: {result['machine']['nproc']} × {result['machine']['cpu']}; wrk {result['connections']} connections, "
        f"{result['threads']} threads; {result['request']['name']} request ({result['request']['bytes']:,} bytes); "
        f"database {result['database']}; load average {result['load_average_1m'][0]} at the start, "
        f"{result['load_average_1m'][1]} at the end",
        "",
        f"{'procs':>5}{'rate':>6}{'achieved':>10}{'requests':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'errors':>8}{'RSS MiB before → after':>26}{'write failures':>16}",
    ]
    for r in result["runs"]:
        rss = f"{r['rss_mib_before']} → {r['rss_mib_after']}"
        lines.append(
            f"{r['api_processes']:>5}{r['rate']:>6}{r['throughput_rps']:>10.1f}{r['requests']:>10}{r['p50_ms']:>9.1f}"
            f"{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}{r['errors']:>8}{rss:>26}{r['write_failures']:>16}"
        )
    lines.append("")
    for target in result["targets"]:
        lines.append(f"[{'met' if target['met'] else 'NOT MET'}] {target['target']}: {target['measured']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200", help="comma-separated requests per second")
    parser.add_argument("--duration", type=int, default=20, help="seconds per rate")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--api-processes", default="1", help="comma-separated `serve --api-processes` counts")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    rates = [int(r) for r in args.rates.split(",")]
    counts = [int(n) for n in args.api_processes.split(",")]
    request = typical(datetime.now(UTC))  # the server runs on the real clock
    load_before = os.getloadavg()[0]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bhcds-load-") as tmp:
        workdir = Path(tmp)
        body_file = workdir / "typical.json"
        body_file.write_bytes(request.body)
        for processes in counts:
            with _database(args.database, workdir / f"load-{processes}.db") as database_url:
                server = Server(workdir, database_url, processes)
                try:
                    server.wait_ready()
                    topics = check_answer(server.base, request)
                    for _ in range(20 * processes):  # warm up imports, caches and the database
                        check_answer(server.base, request)
                    url = f"{server.base}/cds-services/{request.service}"
                    for rate in rates:
                        before = server.rss_mib()
                        run = run_wrk(url, body_file, rate, args.duration, args.connections, args.threads)
                        run |= {
                            "api_processes": processes,
                            "rss_mib_before": before,
                            "rss_mib_after": server.rss_mib(),
                            "write_failures": server.write_failures(),
                        }
                        runs.append(run)
                finally:
                    server.stop()
    targets = []
    for processes in counts:
        top = max((r for r in runs if r["api_processes"] == processes), key=lambda r: r["rate"])
        targets.append(
            {
                "api_processes": processes,
                "target": f"{processes} API process(es): p95 < {P95_TARGET_MS:.0f} ms at {top['rate']} req/s "
                "with zero errors",
                "measured": f"p95 {top['p95_ms']:.1f} ms, {top['throughput_rps']:.1f} req/s achieved, "
                f"{top['errors']} errors, {top['write_failures']} failed writes",
                "met": top["p95_ms"] < P95_TARGET_MS
                and top["errors"] == 0
                and top["write_failures"] == 0
                and top["throughput_rps"] >= 0.95 * top["rate"],
            }
        )
    result = {
        "machine": machine(),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "database": args.database,
        "request": {
            "name": request.name,
            "bytes": len(request.body),
            "resources": request.resources,
            "topics": topics,
        },
        "connections": args.connections,
        "threads": args.threads,
        "runs": runs,
        "targets": targets,
    }
    print(report(result))
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


@contextmanager
def _database(kind: str, sqlite_path: Path) -> Iterator[str]:
    if kind == "postgresql":
        from over_http import POSTGRES_URL, postgres_schema

        with postgres_schema(POSTGRES_URL) as url:
            yield url
    else:
        yield f"sqlite:///{sqlite_path}"


if __name__ == "__main__":
    sys.exit(main())
