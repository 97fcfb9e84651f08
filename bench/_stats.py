"""Summaries of timing samples, the process's memory, and the machine a run was made on."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic-core",
    "fhir.resources",
    "fhir-core",
    "orjson",
    "sqlalchemy",
    "pint",
    "anyio",
    "uvicorn",
    "h11",
    "httptools",  # absent: uvicorn parses HTTP with h11 (pure Python)
    "uvloop",  # absent: uvicorn runs the stock asyncio loop
)


@dataclass(frozen=True)
class Timing:
    """Milliseconds per call over ``n`` calls."""

    n: int
    median_ms: float
    p95_ms: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def summarise(seconds: list[float]) -> Timing:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Timing(len(ordered), statistics.median(ordered) * 1000, p95 * 1000)


class GcPauses:
    """Seconds the cyclic garbage collector has run so far (gc.callbacks), to take out of a timing.

    A 10,000-resource chart parses into about a million objects, and every full collection while the
    request runs walks all of them: that cost grows faster than the chart, whatever the code does.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self)


def rss_bytes() -> int:
    """Resident set size now (not the peak): /proc/self/statm's second field, in pages."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def machine() -> dict[str, Any]:
    """What a reader needs to compare runs: CPU, memory, Python and the packages on the hot path."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")  # Linux only; elsewhere the model stays "unknown"
    if cpuinfo.exists():
        lines = cpuinfo.read_text(encoding="utf-8").splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": versions,
    }
