"""In-process benchmark of the hook path: request bytes -> response bytes through the real app.

    python bench/hooks.py [--quick] [--json PATH]

Three requests (typical order-select, heavy patient-view, the largest Synthea chart) are sent to the
real application over a hand-rolled ASGI call (no sockets), each timed beside ``orjson.loads`` of
the same bytes: the floor no JSON service can go below. Then the same chart at 100 / 1,000 / 10,000
resources (the cost per resource should stay flat), and the process's RSS before and after 10,000
typical requests. The three requests are timed again on "first sight": with the mapping's memos
(value-set lookups, drug classes, validation verdicts, all keyed by content) cleared before every call,
as for the first chart after a restart; the repeated request is what an EHR sends at patient-view,
order-select and order-sign, but a new patient's chart reuses only the memos of its codes. ``--quick`` runs a few iterations of everything (CI smoke test); its timings are
not meant to be read. See docs/performance.md for the results and what they mean.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo: service, cds_hooks, mappings

import orjson
from _app import NOW, bench_app, quiet_production_logging, silent_failures
from _asgi import AsgiClient
from _charts import BenchRequest, heavy, synthea, typical
from _stats import GcPauses, Timing, machine, rss_bytes, summarise

from mappings._memo import clear_caches

# Targets of the performance issue (HTTP targets are bench/load.py's)
HEAVY_MAX_RATIO = 6.0  # heavy request, median, over the orjson floor
TYPICAL_MAX_MS = 3.0  # typical request, median, in-process
RSS_MAX_GROWTH_PCT = 10.0  # over the memory run
LINEAR_MAX_DRIFT = 1.25  # per-resource cost without GC pauses, at 10,000 over that at 1,000


@dataclass(frozen=True)
class Plan:
    iterations: dict[str, int]  # per request name
    scaling: dict[int, int]  # resources -> iterations
    memory_requests: int
    warmup: int
    first_sight: dict[str, int]  # per request name, with the mapping's memos cleared before each call


FULL = Plan(
    {"typical": 2000, "heavy": 200, "synthea": 200},
    {100: 300, 1_000: 60, 10_000: 8},
    10_000,
    20,
    {"typical": 500, "heavy": 100, "synthea": 100},
)
QUICK = Plan(
    {"typical": 30, "heavy": 5, "synthea": 5},
    {100: 5, 1_000: 3, 10_000: 1},
    300,
    2,
    {"typical": 5, "heavy": 2, "synthea": 2},
)


@dataclass(frozen=True)
class Measured:
    request: BenchRequest
    status: int
    topics: list[str]
    app: Timing
    floor: Timing
    app_without_gc: Timing  # each call less the cyclic collector's pauses inside it

    @property
    def ratio(self) -> float:
        return self.app.median_ms / self.floor.median_ms

    @property
    def answered(self) -> bool:
        return self.status == 200 and self.request.expect <= set(self.topics)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.request.name,
            "service": self.request.service,
            "resources": self.request.resources,
            "bytes": len(self.request.body),
            "status": self.status,
            "topics": self.topics,
            "expected_topics": sorted(self.request.expect),
            "answered": self.answered,
            "app": self.app.as_json(),
            "floor": self.floor.as_json(),
            "ratio_median": round(self.ratio, 2),
            "ratio_p95": round(self.app.p95_ms / self.floor.p95_ms, 2),
            "us_per_resource": round(self.app.median_ms * 1000 / self.request.resources, 2),
            "app_without_gc": self.app_without_gc.as_json(),
            "us_per_resource_without_gc": round(self.without_gc_us, 2),
        }

    @property
    def without_gc_us(self) -> float:
        """µs per resource of the app's median call without the collector's pauses: the code's own
        cost, which should stay flat from 1,000 to 10,000 resources (see GcPauses)."""
        return self.app_without_gc.median_ms * 1000 / self.request.resources


async def answer(client: AsgiClient, request: BenchRequest) -> tuple[int, list[str]]:
    """One call: the status and the topics of the cards (sorted)."""
    status, body = await client.post(f"/cds-services/{request.service}", request.body)
    if status != 200:
        return status, []
    cards = orjson.loads(body)["cards"]
    return status, sorted(card["source"]["topic"]["code"] for card in cards)


async def measure(
    client: AsgiClient,
    request: BenchRequest,
    iterations: int,
    warmup: int,
    before_each: Callable[[], None] | None = None,
) -> Measured:
    """Alternate one app call and one ``orjson.loads`` of the same bytes, so both see the same machine.

    ``before_each`` runs before every timed call, outside the timing (clearing caches).
    """
    status, topics = await answer(client, request)
    path = f"/cds-services/{request.service}"
    for _ in range(warmup):
        await client.post(path, request.body)
    app_s: list[float] = []
    floor_s: list[float] = []
    app_gc_free: list[float] = []
    clock = time.perf_counter
    with GcPauses() as pauses:
        for _ in range(iterations):
            if before_each is not None:
                before_each()
            gc_before = pauses.seconds
            start = clock()
            code, _body = await client.post(path, request.body)
            middle = clock()
            app_gc = pauses.seconds - gc_before
            orjson.loads(request.body)
            end = clock()
            if code != 200:
                raise RuntimeError(f"{request.name}: status {code}")
            app_s.append(middle - start)
            floor_s.append(end - middle)
            app_gc_free.append(middle - start - app_gc)
    return Measured(request, status, topics, summarise(app_s), summarise(floor_s), summarise(app_gc_free))


async def memory_run(client: AsgiClient, request: BenchRequest, count: int) -> dict[str, Any]:
    """RSS (after a full collection) before and after ``count`` more requests, on a process already
    warmed by the same request (imports, caches and pools are in place: growth is what leaks)."""
    path = f"/cds-services/{request.service}"
    gc.collect()
    before = rss_bytes()
    for _ in range(count):
        status, _body = await client.post(path, request.body)
        if status != 200:
            raise RuntimeError(f"memory run: status {status}")
    gc.collect()
    after = rss_bytes()
    return {
        "requests": count,
        "rss_before_mib": round(before / 2**20, 1),
        "rss_after_mib": round(after / 2**20, 1),
        "growth_pct": round(100 * (after - before) / before, 2),
    }


async def run(plan: Plan, workdir: Path) -> dict[str, Any]:
    quiet_production_logging()
    load_before = os.getloadavg()[0]
    requests = [typical(NOW), heavy(NOW), synthea(NOW)]
    async with AsgiClient(bench_app(workdir)) as client:
        failures_before = silent_failures()
        measured = [await measure(client, requests[0], plan.iterations["typical"], plan.warmup)]
        # right after typical's own runs, before the large charts would inflate the starting RSS
        memory = await memory_run(client, requests[0], plan.memory_requests)
        for request in requests[1:]:
            key = request.name.split(" ")[0]
            measured.append(await measure(client, request, plan.iterations[key], plan.warmup))
        first_sight = []
        for request in requests:
            key = request.name.split(" ")[0]
            renamed = replace(request, name=f"{key}, first sight")
            first_sight.append(
                await measure(client, renamed, plan.first_sight[key], plan.warmup, before_each=clear_caches)
            )
        scaling = []
        for size, iterations in plan.scaling.items():
            chart = heavy(NOW, size, name=f"chart of {size:,}")
            scaling.append(await measure(client, chart, iterations, min(plan.warmup, iterations)))
        failures = silent_failures() - failures_before
    return {
        "clock": NOW.isoformat(),
        "machine": machine(),
        # other processes on the machine skew the timings: the 1-minute load average, start and end
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "requests": [m.as_json() for m in measured],
        "first_sight": [m.as_json() for m in first_sight],
        "scaling": [m.as_json() for m in scaling],
        "memory": memory,
        "silent_failures": failures,
        "targets": targets(measured, scaling, memory),
    }


def targets(
    measured: list[Measured], scaling: list[Measured], memory: dict[str, Any]
) -> list[dict[str, Any]]:
    by_name = {m.request.name: m for m in measured}
    per_resource = {m.request.resources: m.without_gc_us for m in scaling}
    drift = per_resource[10_000] / per_resource[1_000]
    rows = [
        (
            "heavy: median ≤ 6× the orjson floor",
            f"{by_name['heavy'].ratio:.1f}×",
            by_name["heavy"].ratio <= HEAVY_MAX_RATIO,
        ),
        (
            "typical: median ≤ 3 ms in-process",
            f"{by_name['typical'].app.median_ms:.2f} ms",
            by_name["typical"].app.median_ms <= TYPICAL_MAX_MS,
        ),
        (
            f"RSS growth < 10 % over {memory['requests']:,} typical requests",
            f"{memory['growth_pct']:+.1f} %",
            memory["growth_pct"] < RSS_MAX_GROWTH_PCT,
        ),
        (
            "linear: per-resource cost without GC pauses at 10,000 ≤ 1.25× that at 1,000",
            f"{drift:.2f}×",
            drift <= LINEAR_MAX_DRIFT,
        ),
    ]
    return [{"target": t, "measured": v, "met": ok} for t, v, ok in rows]


def report(result: dict[str, Any]) -> str:
    load = result["load_average_1m"]
    lines = [
        f"machine: {result['machine']['nproc']} × {result['machine']['cpu']}, Python {result['machine']['python']}; "
        f"load average {load[0]} at the start, {load[1]} at the end",
        "",
    ]
    header = f"{'request':<24}{'resources':>10}{'bytes':>11}{'app median':>12}{'app p95':>10}{'floor med':>11}{'floor p95':>11}{'ratio':>8}"
    for title, rows in (
        ("requests", result["requests"]),
        ("first sight (the mapping's memos cleared before every call)", result["first_sight"]),
        ("scaling (heavy chart, patient-view)", result["scaling"]),
    ):
        lines += [title, header]
        for r in rows:
            lines.append(
                f"{r['name']:<24}{r['resources']:>10,}{r['bytes']:>11,}{r['app']['median_ms']:>10.2f}ms"
                f"{r['app']['p95_ms']:>8.2f}ms{r['floor']['median_ms']:>9.3f}ms{r['floor']['p95_ms']:>9.3f}ms{r['ratio_median']:>7.1f}×"
            )
        lines.append("")
    lines.append(
        "scaling: µs per resource "
        + ", ".join(f"{r['resources']:,}: {r['us_per_resource']:.1f}" for r in result["scaling"])
        + "; without GC pauses "
        + ", ".join(f"{r['resources']:,}: {r['us_per_resource_without_gc']:.1f}" for r in result["scaling"])
    )
    m = result["memory"]
    lines.append(
        f"memory: RSS {m['rss_before_mib']} MiB -> {m['rss_after_mib']} MiB over {m['requests']:,} typical requests ({m['growth_pct']:+.2f} %)"
    )
    lines.append(f"silent reminder/audit failures: {result['silent_failures']:.0f}")
    for r in result["requests"] + result["first_sight"] + result["scaling"]:
        if not r["answered"]:
            lines.append(
                f"WRONG ANSWER: {r['name']}: status {r['status']}, topics {r['topics']}, expected {r['expected_topics']}"
            )
    lines += ["", "targets"] + [
        f"  [{'met' if t['met'] else 'NOT MET'}] {t['target']}: {t['measured']}" for t in result["targets"]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="few iterations (CI smoke test); timings not meaningful"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bhcds-bench-") as workdir:
        result = asyncio.run(run(QUICK if args.quick else FULL, Path(workdir)))
    result["quick"] = args.quick
    print(report(result))
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    wrong = [r for r in result["requests"] + result["first_sight"] + result["scaling"] if not r["answered"]]
    return 1 if wrong or result["silent_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
