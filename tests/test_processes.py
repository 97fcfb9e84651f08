"""The real `bone-health-cds` processes: shutdown of the embedded system, the metrics port, beat's files.

Each test starts the console command as a subprocess (in a process group of its own, so a failing
test still cleans up) and looks at the process tree through /proc.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from service.reminders.runner import settings_environment
from service.settings import Settings
from tests.conftest import service_unavailable
from tests.service.persistence.databases import drop_redis_namespace, redis_reachable

pytestmark = pytest.mark.slow

COMMAND = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(FileNotFoundError, ProcessLookupError):
            pids += [int(p) for p in (task / "children").read_text().split()]
    return pids


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = children(pid)
    while todo:
        child = todo.pop()
        if child not in found:
            found.add(child)
            todo += children(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's wait is missing


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until(
    condition: object, timeout: float, what: str, proc: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: the process exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            if condition():  # type: ignore[operator]
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} not within {timeout} s: {log.read_text()[-3000:]}")


@contextmanager
def running(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*COMMAND, *args], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, process_group=0
        )
    seen: set[int] = set()
    try:
        yield proc
    finally:
        seen |= descendants(proc.pid)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in seen:  # the embedded children lead process groups of their own
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def _embedded_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    settings = Settings(auth_enabled=False, database_url=f"sqlite:///{tmp_path}/var/bhcds.db")
    env = settings_environment(settings)
    env.update(extra)
    return env


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_and_everything_it_started(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with running(["serve", "--port", str(port)], _embedded_env(tmp_path), tmp_path, log) as proc:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz") == 200, 60, "/healthz", proc, log)
        # the worker (with its pool process) and beat are up
        wait_until(lambda: len(descendants(proc.pid)) >= 3, 30, "worker and beat", proc, log)
        wait_until(lambda: "ready." in log.read_text(), 30, "worker ready", proc, log)
        started = descendants(proc.pid)

        os.kill(proc.pid, sig)
        t0 = time.monotonic()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running 15 s after {sig.name}: {log.read_text()[-3000:]}")
        elapsed = time.monotonic() - t0

        deadline = time.monotonic() + 2  # a pool process may take a moment after its parent
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = sorted(pid for pid in started if alive(pid))
        assert not left, f"still running after {sig.name}: {left}"
        assert proc.returncode == 0, log.read_text()[-3000:]
        assert elapsed < 15


def test_the_metrics_port_serves_metrics_and_the_api_port_does_not(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    env = _embedded_env(tmp_path, BHCDS_METRICS_PORT=str(metrics_port))
    with running(["serve", "--port", str(port), "--no-embedded-worker"], env, tmp_path, log) as proc:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz") == 200, 60, "/healthz", proc, log)
        wait_until(lambda: get(f"http://127.0.0.1:{metrics_port}/metrics") == 200, 10, "metrics", proc, log)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as response:
            assert b"bhcds_" in response.read()
        assert get(f"http://127.0.0.1:{port}/metrics") == 404
        assert get(f"http://127.0.0.1:{metrics_port}/healthz") == 404  # the metrics port serves metrics only


def test_the_metrics_port_works_with_several_api_processes(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    env = _embedded_env(tmp_path, BHCDS_METRICS_PORT=str(metrics_port))
    args = ["serve", "--port", str(port), "--no-embedded-worker", "--api-processes", "2"]
    with running(args, env, tmp_path, log) as proc:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz") == 200, 60, "/healthz", proc, log)
        wait_until(lambda: get(f"http://127.0.0.1:{metrics_port}/metrics") == 200, 10, "metrics", proc, log)
        wait_until(lambda: len(descendants(proc.pid)) >= 2, 20, "two API processes", proc, log)
        assert "Address already in use" not in log.read_text()


@pytest.mark.services
def test_beat_writes_its_schedule_where_the_setting_says(tmp_path: Path) -> None:
    """Production beat: cwd is not writable state (an empty folder here), the schedule path is a setting."""
    if not redis_reachable():
        service_unavailable("Redis at 127.0.0.1:6379")
    cwd, state = tmp_path / "cwd", tmp_path / "state"
    cwd.mkdir()
    schedule = state / "beat" / "schedule"  # its folder does not exist yet: beat creates it
    namespace = f"bhcds-beat-{os.getpid()}-{time.monotonic_ns()}"
    settings = Settings(
        auth_enabled=False,
        database_url=f"sqlite:///{tmp_path}/db/bhcds.db",
        broker_url="redis://127.0.0.1:6379/0",
        celery_namespace=namespace,
        beat_schedule_path=str(schedule),
    )
    (tmp_path / "db").mkdir()
    log = tmp_path / "beat.log"
    try:
        with running(["beat"], settings_environment(settings), cwd, log) as proc:
            wait_until(lambda: any(state.rglob("schedule*")), 20, "the schedule file", proc, log)
            time.sleep(3)  # still running a few seconds later
            assert proc.poll() is None, log.read_text()[-3000:]
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    finally:
        drop_redis_namespace(namespace)
    assert list(cwd.iterdir()) == []  # nothing written under the working directory
