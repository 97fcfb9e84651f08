"""The `bone-health-cds` command line: help on every option, --version, unambiguous serve flags, quiet starts."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest

from service.app import protocol_config
from service.cli import build_parser, default_api_processes, main
from service.listener import make_server
from service.reminders.runner import settings_environment
from service.settings import Settings

COMMAND = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_command_has_a_description_and_every_option_help_and_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands = _subcommands()
    assert set(commands) >= {"serve", "worker", "beat", "dispatch", "scan", "rules", "listen"}
    for name, parser in commands.items():
        assert parser.description, name
        assert parser.formatter_class is argparse.ArgumentDefaultsHelpFormatter, name
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name} {action.option_strings}"
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        for action in parser._actions:
            if action.option_strings and action.help != argparse.SUPPRESS and action.dest != "help":
                assert f"(default: {action.default})" in out, f"{name} {action.option_strings}: {out}"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"bone-health-cds {metadata.version('bone-health-cds')}"


def test_serve_names_api_processes_and_the_embedded_worker_apart(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    args = parser.parse_args(["serve", "--api-processes", "3", "--no-embedded-worker"])
    assert (args.api_processes, args.no_embedded_worker) == (3, True)
    assert (parser.parse_args(["serve"]).api_processes, parser.parse_args(["serve"]).no_embedded_worker) == (
        None,  # decided from the settings: default_api_processes
        False,
    )
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--api-processes" in out and "--no-embedded-worker" in out
    assert "--workers" not in out and "--no-workers" not in out  # the old, confusable names are hidden
    old = parser.parse_args(["serve", "--workers", "2", "--no-workers"])  # yet still accepted
    assert (old.api_processes, old.no_embedded_worker) == (2, True)


def test_serve_starts_one_api_process_per_core_unless_replays_could_pass_between_them() -> None:
    per_core = len(os.sched_getaffinity(0))
    assert default_api_processes(Settings(auth_enabled=False)) == per_core
    shared = Settings(auth_enabled=True, redis_url="redis://127.0.0.1:6379/1")
    assert default_api_processes(shared) == per_core
    assert (
        default_api_processes(Settings(auth_enabled=True, broker_url="redis://127.0.0.1:6379/0")) == per_core
    )
    # auth on, no shared replay cache: one process, or a token replayed at another process would pass
    assert default_api_processes(Settings(auth_enabled=True)) == 1
    assert default_api_processes(Settings(auth_enabled=True, broker_url="amqp://guest@127.0.0.1//")) == 1


def test_a_command_prints_no_alembic_lines(tmp_path: Path) -> None:
    settings = Settings(auth_enabled=False, database_url=f"sqlite:///{tmp_path}/var/bhcds.db")
    result = subprocess.run(
        [*COMMAND, "dispatch"],
        env=settings_environment(settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "enqueued 0 due reminder(s)"
    assert "alembic" not in result.stderr, result.stderr
    for line in result.stderr.splitlines():
        json.loads(line)  # whatever is logged is JSON


def test_listen_prints_each_posted_body() -> None:
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        body = json.dumps({"topic": "denosumab-dose-due"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/hook", data=body, method="POST")
        with pytest.MonkeyPatch.context() as patch:
            printed: list[str] = []
            patch.setattr(sys.stdout, "write", printed.append)
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 204
        assert "".join(printed) == f"POST /hook\n{body.decode()}\n"
    finally:
        server.shutdown()
        server.server_close()


def test_the_replay_cache_uses_redis_beside_a_rabbitmq_broker() -> None:
    amqp = "amqp://guest:guest@127.0.0.1:5672//"
    both = Settings(broker_url=amqp, redis_url="redis://127.0.0.1:6379/1")
    assert protocol_config(both).replay_cache_redis_url == "redis://127.0.0.1:6379/1"
    assert protocol_config(Settings(broker_url=amqp)).replay_cache_redis_url is None  # no Redis at all
    redis_broker = Settings(broker_url="redis://127.0.0.1:6379/0")
    assert protocol_config(redis_broker).replay_cache_redis_url == "redis://127.0.0.1:6379/0"
