"""Real Celery worker processes for the end-to-end tests (never eager mode)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from service.reminders.runner import settings_environment
from service.settings import Settings


class Worker:
    """One ``celery worker --pool=solo`` process: one process, so SIGKILL kills the whole worker."""

    def __init__(self, settings: Settings, log: Path, app: str = "service.celery_app:app") -> None:
        self.log = log
        self._handle = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", app, "worker",
                "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel=INFO",
            ],
            env=settings_environment(settings),
            cwd=log.parent,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 20.0) -> None:
        start = self.log.stat().st_size if self.log.exists() else 0
        wait_for(lambda: "ready." in self.log.read_text()[start:] or self.process.poll() is not None, timeout)
        if self.process.poll() is not None:
            raise RuntimeError(f"worker exited: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no warm shutdown, no ack
        self.process.wait()
        self._handle.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._handle.close()


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)
