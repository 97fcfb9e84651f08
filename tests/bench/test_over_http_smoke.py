"""`bench/over_http.py --quick` end to end: a real server process answers every call of the benchmark
200 with the cards a clinician expects, and the report carries every figure and the server's stage
timings. Correctness only: timings on a shared CI machine mean nothing and are not checked."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # starts the benchmark, which starts the server

REPO = Path(__file__).resolve().parents[2]

# What a clinician expects on each chart (the bench's own expectations are not trusted here)
EXPECTED = {
    "typical": {"tzd-fracture-risk"},
    "heavy": {"denosumab-dose-due", "fall-risk-assessment-due", "obesity-bone-assessment"},
}
SERVER_STAGES = {"protocol", "mapping", "rules", "feedback", "cards", "respond"}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "http.json"
    done = subprocess.run(
        [sys.executable, "bench/over_http.py", "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WRONG ANSWER" not in done.stdout
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    return list(result["requests"]) + list(result["first_sight"])


def test_every_call_is_answered_200_with_the_expected_cards(result: dict[str, Any]) -> None:
    assert [r["name"] for r in result["requests"]] == ["typical", "heavy"]
    assert [r["name"] for r in result["first_sight"]] == ["typical, first sight", "heavy, first sight"]
    for row in _rows(result):
        name = row["name"].split(",")[0]
        assert row["calls"] >= 1 and row["answered"] == row["calls"], row["name"]
        assert row["statuses"] == [200], row["name"]
        assert EXPECTED[name] <= set(row["topics"]), (row["name"], row["topics"])


def test_the_requests_are_the_sizes_the_issue_asks_for(result: dict[str, Any]) -> None:
    sizes = {r["name"]: r["resources"] for r in result["requests"]}
    assert 45 <= sizes["typical"] <= 55
    assert sizes["heavy"] == 700


def test_every_row_reports_latency_floor_and_ratios(result: dict[str, Any]) -> None:
    for row in _rows(result):
        for side in ("latency", "floor"):
            assert row[side]["n"] == row["calls"], row["name"]
            assert _positive(row[side]["median_ms"]) and row[side]["p95_ms"] >= row[side]["median_ms"]
        assert _positive(row["median_over_floor"]) and row["p95_over_median"] >= 1, row["name"]


def test_the_server_logged_its_stages_for_every_call(result: dict[str, Any]) -> None:
    for row in _rows(result):
        assert row["server_lines"] == row["calls"], row["name"]  # one log line per hookInstance
        assert _positive(row["server_latency_median_ms"]), row["name"]
        assert set(row["server_stages_median_ms"]) == SERVER_STAGES, row["name"]
        assert all(v >= 0 for v in row["server_stages_median_ms"].values()), row["name"]


def test_machine_and_load_are_reported(result: dict[str, Any]) -> None:
    assert result["machine"]["nproc"] >= 1 and result["database"] == "sqlite"
    assert len(result["load_average_1m"]) == 2 and result["quick"] is True
