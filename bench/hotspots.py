"""Where a hook request's time goes: a stage breakdown and a cProfile of the real app.

    python bench/hotspots.py [--request heavy|typical|synthea|chart-1000|chart-10000] [--iterations N]
                             [--top N] [--pstats PATH] [--first-sight]
    python bench/hotspots.py --what-if [--iterations N]

1. Stages, timed without a profiler: the steps the hook route takes (JSON parse and protocol
   validation, prefetch resolution, mapping to a PatientRecord (and the FHIR validation inside
   it), rules, card rendering, card serialisation, the reminder and audit writes), each called the
   way ``cds_hooks.router`` and ``service.app`` call it, beside the whole request through the ASGI app.
   What the stages do not cover is the framework (routing, middleware, threads, metrics, logging).
2. cProfile of whole requests through the ASGI app: the functions with the most own time, and the
   cumulative time of the project's functions. Work done in worker threads (the database writes) is
   not in the profile; the stage table has it.
3. ``--what-if``: typical and heavy again with the FHIR validation skipped, the reminder and
   audit writes skipped, and both: upper bounds of what the two big levers can buy.

``--first-sight`` clears the mapping's memos (mappings._memo) before every timed call of 1 and 2: the
cost of a chart the process has not seen, where the default repeats one request and finds them warm.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo: service, cds_hooks, mappings

import orjson
from _app import NOW, bench_app, quiet_production_logging
from _asgi import AsgiClient
from _charts import BenchRequest, heavy, synthea, typical

import mappings._conditions
import mappings._medications
import mappings._observations
import mappings._record
import mappings._validate
from cds_hooks import HookCall, prefetch
from cds_hooks._fhir_client import NoFhirServer
from cds_hooks._request import parse_hook_request
from cds_hooks.router import cards_json
from mappings import build_record
from mappings._memo import clear_caches
from service.app import SERVICES, BoneHealth, draft_resources
from service.cards import render
from service.evaluation import evaluate_record
from service.persistence import record_audit
from service.reminders.schedule import reconcile
from service.rules import Moment

_REQUESTS: dict[str, Callable[[], BenchRequest]] = {
    "heavy": lambda: heavy(NOW),
    "typical": lambda: typical(NOW),
    "synthea": lambda: synthea(NOW),
    "chart-1000": lambda: heavy(NOW, 1_000, name="chart of 1,000"),
    "chart-10000": lambda: heavy(NOW, 10_000, name="chart of 10,000"),
}
_OURS = ("/cds_hooks/", "/mappings/", "/service/")


_MAPPERS = (mappings._record, mappings._observations, mappings._medications, mappings._conditions)


@contextmanager
def _validate_replaced(replacement: Callable[[Any, str], None]) -> Iterator[None]:
    """Swap the ``validate`` each mapper imported, in this process only (the code is unchanged)."""
    original = mappings._validate.validate
    for module in _MAPPERS:
        module.validate = replacement  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in _MAPPERS:
            module.validate = original  # type: ignore[attr-defined]


class _ValidationClock:
    """Counts and times mappings' FHIR validation (mappings._validate.validate)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    @contextmanager
    def installed(self) -> Iterator[None]:
        original = mappings._validate.validate

        def timed(resource: Any, label: str) -> None:
            start = time.perf_counter()
            try:
                original(resource, label)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        with _validate_replaced(timed):
            yield


def _no_validation(_resource: Any, _label: str) -> None:
    """Stands in for mappings' validate: what mapping costs without FHIR validation."""


def _no_writes(*_args: Any, **_kwargs: Any) -> float:
    """Stands in for BoneHealth._persist (reminders, then audit, on a thread): a request without writes."""
    return 0.0


@contextmanager
def _writes_skipped(bone: BoneHealth) -> Iterator[None]:
    bone._persist = _no_writes  # type: ignore[method-assign]
    try:
        yield
    finally:
        del bone._persist  # the class's method again


async def stages(bone: BoneHealth, request: BenchRequest) -> dict[str, float]:
    """One pass through the hook path, step by step; seconds per step."""
    times: dict[str, float] = {}
    clock = time.perf_counter

    def step(name: str, start: float) -> float:
        now = clock()
        times[name] = now - start
        return now

    definition = next(d for d in SERVICES if d.id == request.service)
    t = clock()
    parsed = parse_hook_request(request.body, definition.hook)
    t = step("JSON parse + protocol validation", t)
    data = await prefetch.resolve(definition.prefetch or {}, parsed, NoFhirServer("the bench has none"))
    t = step("prefetch resolution", t)
    call = HookCall(
        service_id=request.service,
        hook=parsed.hook,
        hook_instance=parsed.hook_instance,
        patient_id=parsed.patient_id,
        context=parsed.context,
        data=data,
        language="en",
        issuer=None,
        fhir_server=None,
    )
    resources = [r for rs in data.values() for r in rs]
    record = build_record(call.patient_id, resources, draft_resources(call))
    t = step("mapping (build_record)", t)
    moment = Moment.VIEW if call.hook == "patient-view" else Moment.ORDER
    evaluation = evaluate_record(record, NOW, bone.settings, moment)
    t = step("rules (evaluate_record)", t)
    cards = [render(f, record, NOW, call.language) for f in evaluation.cards]
    t = step("cards (render)", t)
    orjson.dumps({"cards": cards_json(cards)})
    t = step("serialisation (cards_json + orjson.dumps)", t)
    with bone.sessions.begin() as session:
        reconcile(session, call.patient_id, evaluation.reminders, deceased=record.patient.deceased, now=NOW)
    topics = [f.topic.value for f in evaluation.cards]
    record_audit(
        bone.sessions,
        secret=bone.audit_key,
        service=call.service_id,
        hook_instance=call.hook_instance,
        issuer=None,
        patient_id=call.patient_id,
        topics=topics,
        latency_ms=1.0,
        outcome="ok",
    )
    step("database (reminders + audit)", t)
    return times


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


def _nothing() -> None:
    """Before each call when the memos stay warm."""


async def breakdown(
    client: AsgiClient, bone: BoneHealth, request: BenchRequest, iterations: int, before: Callable[[], None]
) -> str:
    path = f"/cds-services/{request.service}"
    for _ in range(5):  # warm up
        await client.post(path, request.body)
        await stages(bone, request)
    per_stage: dict[str, list[float]] = defaultdict(list)
    whole: list[float] = []
    floor: list[float] = []
    validation = _ValidationClock()
    validation_share: list[float] = []
    for _ in range(iterations):
        before()
        whole.append(await _timed(lambda: client.post(path, request.body)))
        start = time.perf_counter()
        orjson.loads(request.body)
        floor.append(time.perf_counter() - start)
        before_s, before_n = validation.seconds, validation.calls
        before()
        with validation.installed():
            times = await stages(bone, request)
        validation_share.append(validation.seconds - before_s)
        validated = validation.calls - before_n
        for name, seconds in times.items():
            per_stage[name].append(seconds)
    total = statistics.median(whole)
    ms = 1000
    rows = [
        f"| {name} | {statistics.median(s) * ms:.2f} | {100 * statistics.median(s) / total:.0f} % |"
        for name, s in per_stage.items()
    ]
    validation_ms = statistics.median(validation_share) * ms
    rows.insert(
        3,
        f"| … of which FHIR validation ({validated} resources) | {validation_ms:.2f} | {100 * validation_ms / ms / total:.0f} % |",
    )
    # the stages are timed apart from the whole request, so with few iterations the rest can come out
    # slightly negative: that is noise, shown as 0
    rest = max(0.0, total - sum(statistics.median(s) for s in per_stage.values()))
    rows.append(
        f"| framework, threads, metrics, logs (the rest) | {rest * ms:.2f} | {100 * rest / total:.0f} % |"
    )
    head = [
        f"{request.name}: {request.resources} resources, {len(request.body):,} bytes; "
        f"whole request (ASGI) median {total * ms:.2f} ms; orjson.loads floor {statistics.median(floor) * ms:.3f} ms",
        "",
        "| stage | median ms | share |",
        "| --- | ---: | ---: |",
    ]
    return "\n".join(head + rows)


async def profile(
    client: AsgiClient, request: BenchRequest, iterations: int, before: Callable[[], None]
) -> cProfile.Profile:
    path = f"/cds-services/{request.service}"
    profiler = cProfile.Profile()
    for _ in range(iterations):
        before()
        profiler.enable()
        await client.post(path, request.body)
        profiler.disable()
    return profiler


def hot_spots(profiler: cProfile.Profile, iterations: int, top: int) -> str:
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = [
        (key, ncalls, tottime, cumtime) for key, (_cc, ncalls, tottime, cumtime, _callers) in stats.items()
    ]
    ms = 1000 / iterations

    def where(key: tuple[str, int, str]) -> str:
        """A short location: the path inside site-packages or inside the repo."""
        filename, line, function = key
        for marker in ("/site-packages/", *_OURS):
            if marker in filename:
                inside = filename.split(marker, 1)[1]
                filename = inside if marker == "/site-packages/" else marker.strip("/") + "/" + inside
                break
        return f"{filename}:{line} {function}" if line else function

    own = sorted(rows, key=lambda r: -r[2])[:top]
    ours = sorted((r for r in rows if any(m in r[0][0] for m in _OURS)), key=lambda r: -r[3])[:top]
    out = [
        f"Own time per request (profiled, {iterations} requests; cProfile inflates Python-level code):",
        "",
        "| function | calls/request | own ms | cumulative ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    out += [f"| `{where(k)}` | {n / iterations:.0f} | {t * ms:.2f} | {c * ms:.2f} |" for k, n, t, c in own]
    out += [
        "",
        "The project's functions by cumulative time per request:",
        "",
        "| function | calls/request | cumulative ms |",
        "| --- | ---: | ---: |",
    ]
    out += [f"| `{where(k)}` | {n / iterations:.0f} | {c * ms:.2f} |" for k, n, _t, c in ours]
    return "\n".join(out)


async def _medians(client: AsgiClient, request: BenchRequest, iterations: int) -> tuple[float, float]:
    """Median ms of the whole request and of its orjson floor, alternating as bench/hooks.py does."""
    path = f"/cds-services/{request.service}"
    for _ in range(5):
        await client.post(path, request.body)
    app_s: list[float] = []
    floor_s: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        await client.post(path, request.body)
        middle = time.perf_counter()
        orjson.loads(request.body)
        app_s.append(middle - start)
        floor_s.append(time.perf_counter() - middle)
    return statistics.median(app_s) * 1000, statistics.median(floor_s) * 1000


async def what_if(client: AsgiClient, bone: BoneHealth, iterations: int) -> str:
    """Upper bounds of the two big levers: typical and heavy with FHIR validation skipped, with the
    reminder and audit writes skipped, and both (patched in this process; the app is unchanged)."""
    requests = (typical(NOW), heavy(NOW))
    variants = (
        ("as is", False, False),
        ("FHIR validation skipped", True, False),
        ("reminder + audit writes skipped", False, True),
        ("both skipped", True, True),
    )
    rows = ["| variant | typical ms (× floor) | heavy ms (× floor) |", "| --- | ---: | ---: |"]
    for label, skip_validation, skip_writes in variants:
        with ExitStack() as patches:
            if skip_validation:
                patches.enter_context(_validate_replaced(_no_validation))
            if skip_writes:
                patches.enter_context(_writes_skipped(bone))
            cells = []
            for request in requests:
                app_ms, floor_ms = await _medians(client, request, iterations)
                cells.append(f"{app_ms:.2f} ({app_ms / floor_ms:.1f}×)")
        rows.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(rows)


async def run(args: argparse.Namespace, workdir: Path) -> str:
    quiet_production_logging()
    app = bench_app(workdir)
    bone: BoneHealth = app.state.bone_health
    async with AsgiClient(app) as client:
        if args.what_if:
            return await what_if(client, bone, args.iterations)
        request = _REQUESTS[args.request]()
        before = clear_caches if args.first_sight else _nothing
        table = await breakdown(client, bone, request, args.iterations, before)
        profiler = await profile(client, request, args.iterations, before)
    if args.pstats:
        profiler.dump_stats(args.pstats)
    return table + "\n\n" + hot_spots(profiler, args.iterations, args.top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--request", choices=sorted(_REQUESTS), default="heavy")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--pstats", type=Path, help="also dump the raw profile (for snakeviz, pstats)")
    parser.add_argument(
        "--what-if", action="store_true", help="typical and heavy without validation / writes"
    )
    parser.add_argument(
        "--first-sight", action="store_true", help="clear the mapping's memos before every timed call"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bhcds-hotspots-") as workdir:
        print(asyncio.run(run(args, Path(workdir))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
