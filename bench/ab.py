"""A/B over HTTP: several servers (commits, settings) side by side, their calls interleaved.

    python bench/ab.py --variant base=HEAD~1 --variant new=. [--variant frozen=.,BHCDS_GC_FREEZE=startup]
                       [--calls 600] [--heavy 150] [--first-sight 150] [--json PATH]

Each variant is ``name=REF[,NAME=VALUE...]``: REF is ``.`` (this checkout as it is, uncommitted
changes included) or a git commit, exported with ``git archive`` to a temporary folder; the
``NAME=VALUE`` pairs are settings added to that server's environment. Every variant runs as its own
`bone-health-cds serve --no-workers` process (bench/over_http.py's ``Server``: auth off, SQLite of
its own, JSON logs at INFO), all at once. The calls go round-robin, one call to each server in
turn (the order rotating every round), so every variant sees the same machine: on a machine shared
with other work, only a comparison made this way means much. Each call also times ``orjson.loads``
of its request bytes (the floor). Reported per variant: median and p95, median/floor, and each
median and p95 as a ratio to the first variant's, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo: service, cds_hooks, mappings

import orjson
from _charts import BenchRequest, heavy, typical
from _stats import machine, summarise
from over_http import Call, Client, Server, renamed, server_stages, with_instance

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Variant:
    name: str
    ref: str
    env: dict[str, str] = field(default_factory=dict)
    tree: Path | None = None  # None: this checkout through the virtualenv's entry point


def parse_variant(spec: str) -> Variant:
    name, _, rest = spec.partition("=")
    ref, *pairs = rest.split(",")
    env = dict(pair.split("=", 1) for pair in pairs)
    if not name or not ref:
        raise argparse.ArgumentTypeError(f"not NAME=REF[,SETTING=VALUE...]: {spec!r}")
    return Variant(name, ref, env)


def export(ref: str, into: Path) -> Path:
    """The tree of commit ``ref`` in a folder of its own (the repository itself is not touched)."""
    into.mkdir(parents=True)
    archive = into.with_suffix(".tar")
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", ref], cwd=REPO, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into


def interleaved(
    clients: dict[str, Client],
    request: BenchRequest,
    calls: int,
    body_for: Callable[[int], bytes],
) -> dict[str, list[Call]]:
    """``calls`` rounds; in each, one call to every server, the order rotating by one per round."""
    names = list(clients)
    made: dict[str, list[Call]] = {name: [] for name in names}
    for i in range(calls):
        body = body_for(i)
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            made[name].append(clients[name].call(request, *with_instance(body)))
    return made


def summary(request: BenchRequest, made: list[Call]) -> dict[str, Any]:
    timing = summarise([c.seconds for c in made])
    floor = summarise([c.floor_seconds for c in made])
    answered = [c for c in made if c.status == 200 and request.expect <= set(c.topics)]
    return {
        "calls": len(made),
        "answered": len(answered),
        "latency": timing.as_json(),
        "floor": floor.as_json(),
        "median_over_floor": round(timing.median_ms / floor.median_ms, 2),
        "p95_over_median": round(timing.p95_ms / timing.median_ms, 2),
    }


def run(variants: list[Variant], counts: dict[str, int], warmup: int, workdir: Path) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    now = datetime.now(UTC)
    requests = {"typical": typical(now), "heavy": heavy(now)}
    servers: dict[str, Server] = {}
    try:
        for v in variants:
            data = workdir / f"data-{v.name}"
            data.mkdir()
            servers[v.name] = Server(data, f"sqlite:///{data}/bench.db", tree=v.tree, env=v.env, name=v.name)
        for server in servers.values():
            server.wait_ready()
        clients = {name: Client(server.port) for name, server in servers.items()}
        for request in requests.values():  # warm-up, untimed
            interleaved(clients, request, warmup, lambda _i, b=request.body: b)
        rss_warm = {name: server.rss_mib() for name, server in servers.items()}
        rows: dict[str, dict[str, list[Call]]] = {}
        for kind, request in requests.items():
            rows[kind] = interleaved(clients, request, counts[kind], lambda _i, b=request.body: b)
        tag = os.urandom(3).hex()
        for kind, request in requests.items():

            def fresh(i: int, b: bytes = request.body, k: str = kind) -> bytes:
                return renamed(b, f"{tag}{k[0]}{i}-")

            rows[f"{kind}, first sight"] = interleaved(clients, request, counts["first_sight"] // 2, fresh)
        rss_end = {name: server.rss_mib() for name, server in servers.items()}
        for client in clients.values():
            client.close()
        time.sleep(0.2)  # the last log lines reach the files
        logged = {name: server.hook_calls() for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    base = variants[0].name
    table: dict[str, dict[str, Any]] = {}
    for kind, by_variant in rows.items():
        request = requests[kind.split(",")[0]]
        table[kind] = {}
        for name, made in by_variant.items():
            row = summary(request, made)
            server_stages(row, made, logged[name])
            table[kind][name] = row
        base_row = table[kind][base]
        for row in table[kind].values():
            row["median_vs_base"] = round(row["latency"]["median_ms"] / base_row["latency"]["median_ms"], 3)
            row["p95_vs_base"] = round(row["latency"]["p95_ms"] / base_row["latency"]["p95_ms"], 3)
    return {
        "machine": machine(),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "variants": [{"name": v.name, "ref": v.ref, "env": v.env} for v in variants],
        "rss_mib": {"after_warmup": rss_warm, "end": rss_end},
        "rows": table,
    }


def report(result: dict[str, Any]) -> str:
    m, load = result["machine"], result["load_average_1m"]
    lines = [
        f"machine: nproc {m['nproc']}, {m['cpu']}, Python {m['python']}; "
        f"load average {load[0]} at the start, {load[1]} at the end",
        "variants: "
        + "; ".join(
            f"{v['name']} = {v['ref']}" + "".join(f" {k}={val}" for k, val in v["env"].items())
            for v in result["variants"]
        ),
        "",
        f"{'request':<22}{'variant':<14}{'calls':>6}{'median':>10}{'p95':>10}{'med/floor':>10}"
        f"{'p95/med':>8}{'med/base':>9}{'p95/base':>9}  server stages (median ms)",
    ]
    for kind, by_variant in result["rows"].items():
        for name, r in by_variant.items():
            stages = " ".join(f"{k} {v:.2f}" for k, v in r["server_stages_median_ms"].items())
            lines.append(
                f"{kind:<22}{name:<14}{r['calls']:>6}{r['latency']['median_ms']:>8.2f}ms"
                f"{r['latency']['p95_ms']:>8.2f}ms{r['median_over_floor']:>9.1f}×{r['p95_over_median']:>7.2f}×"
                f"{r['median_vs_base']:>8.3f}×{r['p95_vs_base']:>8.3f}×  {stages}"
            )
    rss = result["rss_mib"]
    lines.append("")
    lines.append(
        "server RSS MiB (after warm-up → end): "
        + "; ".join(f"{n} {rss['after_warmup'][n]} → {rss['end'][n]}" for n in rss["end"])
    )
    for kind, by_variant in result["rows"].items():
        for name, r in by_variant.items():
            if r["answered"] != r["calls"]:
                lines.append(f"WRONG ANSWER: {kind}, {name}: {r['calls'] - r['answered']} of {r['calls']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variant", action="append", type=parse_variant, required=True, help="NAME=REF[,SETTING=VALUE...]"
    )
    parser.add_argument("--calls", type=int, default=600, help="typical calls per variant")
    parser.add_argument("--heavy", type=int, default=150, help="heavy calls per variant")
    parser.add_argument(
        "--first-sight", type=int, default=200, help="first-sight calls per variant (half each)"
    )
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    variants: list[Variant] = args.variant
    if len({v.name for v in variants}) != len(variants):
        parser.error("variant names must differ")
    counts = {"typical": args.calls, "heavy": args.heavy, "first_sight": args.first_sight}
    with tempfile.TemporaryDirectory(prefix="bhcds-ab-") as tmp:
        workdir = Path(tmp)
        for v in variants:
            if v.ref != ".":
                v.tree = export(v.ref, workdir / f"tree-{v.name}")
        result = run(variants, counts, args.warmup, workdir)
    print(report(result))
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    wrong = any(r["answered"] != r["calls"] for rows in result["rows"].values() for r in rows.values())
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
