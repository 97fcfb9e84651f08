"""`make run`, the README's first command: it says once, at start, when no reminder will be delivered."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_processes import alive, descendants, free_port, get


def _up(port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{port}/healthz") == 200
    except OSError:
        return False


pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NOTE = "none is delivered until BHCDS_FHIR_BASE_URL or BHCDS_REMINDER_WEBHOOK_URL is set"


def _make_run(tmp_path: Path, **settings: str) -> str:
    """Start `make run` on a free PORT until /healthz answers; its stdout up to then."""
    if shutil.which("make") is None or not (REPO / ".venv" / "bin" / ".installed").exists():
        pytest.skip("make run needs make and the installed .venv")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BHCDS_")}
    env.update(PORT=str(port), BHCDS_DATABASE_URL=f"sqlite:///{tmp_path}/var/bhcds.db", **settings)
    out = tmp_path / "make.out"
    with out.open("wb") as handle:
        proc = subprocess.Popen(
            ["make", "-s", "-C", str(REPO), "run"], env=env, stdout=handle, stderr=subprocess.DEVNULL,
            process_group=0,
        )  # fmt: skip
    tree: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while not _up(port):
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.3)
        tree = descendants(proc.pid)
        return out.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in tree | descendants(proc.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_make_run_says_once_that_no_reminder_is_delivered(tmp_path: Path) -> None:
    assert _make_run(tmp_path).count(NOTE) == 1


def test_make_run_says_nothing_when_a_webhook_is_set(tmp_path: Path) -> None:
    assert NOTE not in _make_run(tmp_path, BHCDS_REMINDER_WEBHOOK_URL="http://127.0.0.1:9/")
