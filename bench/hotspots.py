"""Where a hook request's time goes: a stage breakdown and a cProfile of the real app.

    python bench/hotspots.py [--request heavy|typical|synthea] [--iterations N] [--top N] [--pstats PATH]

1. Stages, timed without a profiler: the steps the hook route takes (JSON parse and protocol
   validation, prefetch resolution, mapping to a PatientRecord (and the FHIR model validation inside
   it), rules, card rendering, card serialisation, the reminder and audit writes), each called the
   way ``cds_hooks.router`` and ``service.app`` call it, beside the whole request through the ASGI app.
   What the stages do not cover is the framework (routing, middleware, threads, metrics, logging).
2. cProfile of whole requests through the ASGI app: the functions with the most own time, and the
   cumulative time of the project's functions. Work done in worker threads (the database writes) is
   not in the profile; the stage table has it.
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
from contextlib import contextmanager
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
}
_OURS = ("/cds_hooks/", "/mappings/", "/service/")


class _ValidationClock:
    """Counts and times mappings' FHIR model validation by wrapping the name each mapper imported."""

    modules = (mappings._record, mappings._observations, mappings._medications, mappings._conditions)

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

        for module in self.modules:
            module.validate = timed  # type: ignore[attr-defined]
        try:
            yield
        finally:
            for module in self.modules:
                module.validate = original  # type: ignore[attr-defined]


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


async def breakdown(client: AsgiClient, bone: BoneHealth, request: BenchRequest, iterations: int) -> str:
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
        whole.append(await _timed(lambda: client.post(path, request.body)))
        start = time.perf_counter()
        orjson.loads(request.body)
        floor.append(time.perf_counter() - start)
        before_s, before_n = validation.seconds, validation.calls
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
        f"| … of which FHIR model validation ({validated} resources) | {validation_ms:.2f} | {100 * validation_ms / ms / total:.0f} % |",
    )
    covered = sum(statistics.median(s) for s in per_stage.values())
    rows.append(
        f"| framework, threads, metrics, logs (the rest) | {(total - covered) * ms:.2f} | {100 * (total - covered) / total:.0f} % |"
    )
    head = [
        f"{request.name}: {request.resources} resources, {len(request.body):,} bytes; "
        f"whole request (ASGI) median {total * ms:.2f} ms; orjson.loads floor {statistics.median(floor) * ms:.3f} ms",
        "",
        "| stage | median ms | share |",
        "| --- | ---: | ---: |",
    ]
    return "\n".join(head + rows)


async def profile(client: AsgiClient, request: BenchRequest, iterations: int) -> cProfile.Profile:
    path = f"/cds-services/{request.service}"
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
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


async def run(name: str, iterations: int, top: int, pstats_path: Path | None, workdir: Path) -> str:
    quiet_production_logging()
    request = _REQUESTS[name]()
    app = bench_app(workdir)
    bone: BoneHealth = app.state.bone_health
    async with AsgiClient(app) as client:
        table = await breakdown(client, bone, request, iterations)
        profiler = await profile(client, request, iterations)
    if pstats_path:
        profiler.dump_stats(pstats_path)
    return table + "\n\n" + hot_spots(profiler, iterations, top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--request", choices=sorted(_REQUESTS), default="heavy")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--pstats", type=Path, help="also dump the raw profile (for snakeviz, pstats)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bhcds-hotspots-") as workdir:
        print(asyncio.run(run(args.request, args.iterations, args.top, args.pstats, Path(workdir))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
