"""Logs are JSON lines, one record per event: a traceback is one record, in every kind of process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from service.reminders.runner import settings_environment
from service.settings import Settings


def _run(code: str, tmp_path: Path) -> list[str]:
    settings = Settings(auth_enabled=False, database_url=f"sqlite:///{tmp_path}/var/bhcds.db")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=settings_environment(settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line for line in result.stderr.splitlines() if line.strip()]


def _records(lines: list[str]) -> list[dict[str, object]]:
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise AssertionError(f"not a JSON line: {line!r}\n(all: {lines})") from exc
    return records


def test_a_logged_exception_is_one_json_line_with_the_traceback(tmp_path: Path) -> None:
    lines = _run(
        """
        import logging
        from service import _logging
        _logging.configure("INFO")
        def fail():
            raise ValueError("a patient's name")
        try:
            fail()
        except ValueError:
            logging.getLogger("service.test").exception("delivery failed")
        """,
        tmp_path,
    )
    (record,) = _records(lines)
    assert record["msg"] == "delivery failed"
    assert "Traceback (most recent call last)" in str(record["exc"])
    assert "in fail" in str(record["exc"]) and "ValueError" in str(record["exc"])
    assert "a patient's name" not in lines[0]


def test_an_uncaught_exception_is_one_json_line(tmp_path: Path) -> None:
    lines = _run(
        """
        import threading
        from service import _logging
        _logging.configure("INFO")
        def crash():
            raise RuntimeError("boom")
        thread = threading.Thread(target=crash, name="t1")
        thread.start()
        thread.join()
        crash()
        """,
        tmp_path,
    )
    thread, main = _records(lines)
    assert thread["level"] == main["level"] == "CRITICAL"
    assert "in crash" in str(thread["exc"]) and "RuntimeError" in str(thread["exc"])
    assert "t1" in str(thread["msg"])
    assert "in crash" in str(main["exc"])


def test_celery_logging_goes_through_the_json_formatter(tmp_path: Path) -> None:
    """What a worker or beat process (embedded children included) sets up: JSON, stderr not redirected."""
    lines = _run(
        """
        import logging, sys
        from service.celery_app import app
        app.log.setup(loglevel="INFO", redirect_stdouts=app.conf.worker_redirect_stdouts)
        from celery.utils.log import get_task_logger
        try:
            raise KeyError("x")
        except KeyError:
            get_task_logger("service.reminders.tasks").exception("task failed")
        logging.getLogger("celery.worker").info("ready.")
        """,
        tmp_path,
    )
    records = _records(lines)
    assert [r["msg"] for r in records] == ["task failed", "ready."]
    assert "KeyError" in str(records[0]["exc"])


def test_alembic_is_quiet_unless_debug(tmp_path: Path) -> None:
    code = """
        from service import _logging
        from service.persistence import migrate
        _logging.configure("{level}")
        migrate("sqlite:///{db}")
        """
    quiet = _records(_run(code.format(level="INFO", db=tmp_path / "a.db"), tmp_path))
    assert not [r for r in quiet if str(r["logger"]).startswith("alembic")]
    debug = _records(_run(code.format(level="DEBUG", db=tmp_path / "b.db"), tmp_path))
    assert [r for r in debug if str(r["logger"]).startswith("alembic")]
