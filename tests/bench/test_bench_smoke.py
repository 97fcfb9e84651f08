"""`bench/hooks.py --quick` end to end: the benchmark sends the requests it claims to and reports
every figure. Correctness only; its timings on a shared CI machine mean nothing and are not checked."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # starts the benchmark as a process

REPO = Path(__file__).resolve().parents[2]
SYNTHEA = REPO / "tests" / "fixtures" / "synthea"

# What a clinician expects on each chart (the bench's own expectations are not trusted here)
EXPECTED = {
    "typical": {"tzd-fracture-risk"},
    "heavy": {"denosumab-dose-due", "fall-risk-assessment-due", "obesity-bone-assessment"},
    "synthea": {"diabetic-fracture-risk-phenotype", "fall-risk-assessment-due", "monitoring-overdue"},
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "hooks.json"
    done = subprocess.run(
        [sys.executable, "bench/hooks.py", "--quick", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _assert_timed(row: dict[str, Any]) -> None:
    for side in ("app", "floor"):
        assert row[side]["n"] >= 1, row["name"]
        assert _positive(row[side]["median_ms"]) and _positive(row[side]["p95_ms"]), row["name"]
        assert row[side]["p95_ms"] >= row[side]["median_ms"], row["name"]
    for figure in ("bytes", "resources", "ratio_median", "ratio_p95", "us_per_resource"):
        assert _positive(row[figure]), (row["name"], figure)


def test_every_request_is_answered_with_the_expected_cards(result: dict[str, Any]) -> None:
    rows = {row["name"].split(" ")[0]: row for row in result["requests"]}
    assert set(rows) == set(EXPECTED)
    for name, topics in EXPECTED.items():
        assert rows[name]["status"] == 200, name
        assert topics <= set(rows[name]["topics"]), (name, rows[name]["topics"])
    assert result["silent_failures"] == 0  # no reminder or audit write failed behind the cards


def test_the_requests_are_the_sizes_the_issue_asks_for(result: dict[str, Any]) -> None:
    rows = {row["name"].split(" ")[0]: row for row in result["requests"]}
    assert 45 <= rows["typical"]["resources"] <= 55
    assert rows["heavy"]["resources"] == 700
    assert rows["synthea"]["resources"] > rows["typical"]["resources"]
    assert rows["heavy"]["bytes"] > rows["synthea"]["bytes"] > rows["typical"]["bytes"]


def test_every_request_and_chart_size_reports_its_figures(result: dict[str, Any]) -> None:
    for row in result["requests"] + result["scaling"]:
        _assert_timed(row)


def test_the_scaling_table_covers_100_to_10000_resources(result: dict[str, Any]) -> None:
    assert [row["resources"] for row in result["scaling"]] == [100, 1_000, 10_000]
    for row in result["scaling"]:
        assert row["status"] == 200 and set(EXPECTED["heavy"]) <= set(row["topics"]), row["name"]
    sizes = [row["bytes"] for row in result["scaling"]]
    assert sizes == sorted(sizes) and sizes[-1] > 50 * sizes[0]


def test_memory_and_machine_are_reported(result: dict[str, Any]) -> None:
    memory = result["memory"]
    assert memory["requests"] >= 100
    assert _positive(memory["rss_before_mib"]) and _positive(memory["rss_after_mib"])
    assert math.isfinite(memory["growth_pct"])
    machine = result["machine"]
    assert machine["nproc"] >= 1 and machine["python"] and machine["packages"]["orjson"]
    assert len(result["load_average_1m"]) == 2


def test_every_target_has_a_verdict(result: dict[str, Any]) -> None:
    assert len(result["targets"]) == 4
    for target in result["targets"]:
        assert target["target"] and target["measured"] and isinstance(target["met"], bool)
