"""docker-compose.yml without Docker (no engine here): it must agree with the CLI and settings, and its
processes must start from its settings against the machine's real PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.settings import Settings
from tests.conftest import service_unavailable
from tests.service.persistence.databases import (
    REDIS_URL,
    drop_redis_namespace,
    postgres_reachable,
    postgres_schema,
    redis_reachable,
)
from tests.test_processes import alive, descendants, free_port

REPO = Path(__file__).resolve().parents[1]
APP_SERVICES = ("api", "worker", "beat")
COMMAND = [sys.executable, "-c", "import sys; from service.cli import main; sys.exit(main())"]
SECRETS = {
    "BHCDS_AUDIT_HMAC_SECRET",
    "BHCDS_FHIR_TOKEN",
    "BHCDS_REMINDER_WEBHOOK_SECRET",
    "POSTGRES_PASSWORD",
}
RABBITMQ_URL = os.environ.get("BHCDS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _services() -> dict[str, Any]:
    return dict(_compose()["services"])


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise AssertionError(f"{name} must be set: {arg}")
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _environment(service: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    """What compose gives the container: the env_file, then `environment` (which wins), interpolated."""
    variables = variables if variables is not None else _env_example()
    definition = _services()[service]
    assert definition["env_file"] == ".env"
    env = {k: v for k, v in _env_example().items() if k.startswith("BHCDS_")}
    env.update({k: _interpolate(str(v), variables) for k, v in definition["environment"].items()})
    return env


def test_the_production_topology_has_every_process() -> None:
    services = _services()
    assert set(services) == {"api", "worker", "beat", "redis", "postgres", "rabbitmq"}
    assert services["rabbitmq"]["profiles"] == ["rabbitmq"]
    assert all("profiles" not in services[name] for name in set(services) - {"rabbitmq"})


def test_every_command_is_a_cli_command() -> None:
    for name in APP_SERVICES:
        command = _services()[name]["command"]
        assert command[0] == {"api": "serve"}.get(name, name)
        result = subprocess.run([*COMMAND, *command, "--help"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{name}: {command}: {result.stderr}"  # an unknown flag exits 2
        assert result.stdout.startswith(f"usage: bone-health-cds {command[0]}")


def test_every_dependency_has_a_healthcheck_and_is_waited_for() -> None:
    services = _services()
    for name, definition in services.items():
        assert definition.get("restart") == "unless-stopped", name
        for dependency, condition in definition.get("depends_on", {}).items():
            assert condition["condition"] == "service_healthy", (name, dependency)
            assert "healthcheck" in services[dependency], f"{name} depends on {dependency}, which has none"
            # a profile's service is optional for the others, or they would not start without it
            assert ("profiles" in services[dependency]) == (condition.get("required") is False)
    assert "healthcheck" in services["api"]


def test_secrets_come_from_the_env_file() -> None:
    compose_text = (REPO / "docker-compose.yml").read_text()
    for name, definition in _services().items():
        for key, value in (definition.get("environment") or {}).items():
            if key in SECRETS or "PASS" in key or "SECRET" in key or "TOKEN" in key:
                assert re.fullmatch(r"\$\{\w+(:[-?][^}]*)?\}", str(value)), f"{name}: {key} inline"
    assert "change-me" not in compose_text
    assert ".env" in (REPO / ".gitignore").read_text().split()
    assert set(_env_example()) >= SECRETS


def test_metrics_are_not_on_the_published_port() -> None:
    services, networks = _services(), _compose()["networks"]
    env = _environment("api")
    metrics_port = env["BHCDS_METRICS_PORT"]
    for name, definition in services.items():
        for mapping in definition.get("ports", []):
            assert not str(mapping).endswith(f":{metrics_port}"), name
    assert [str(p) for p in services["api"]["ports"]] == ["8080:8080"]
    assert networks["internal"]["internal"] is True
    for name in set(services) - {"api"}:
        assert services[name]["networks"] == ["internal"], name  # nothing else reachable from outside
    assert "ports" not in services["redis"] and "ports" not in services["postgres"]
    assert "volumes" in services["redis"]


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_every_environment_variable_is_a_setting_that_parses(broker: str) -> None:
    variables = _env_example()
    if broker == "rabbitmq":
        variables["BHCDS_BROKER_URL"] = "amqp://bhcds:change-me@rabbitmq:5672//"
    fields = {f"BHCDS_{name.upper()}" for name in Settings.model_fields}
    for name in APP_SERVICES:
        env = _environment(name, variables)
        assert set(env) <= fields, set(env) - fields
        settings = Settings(**{k.removeprefix("BHCDS_").lower(): v for k, v in env.items()})
        assert settings.broker_url == variables["BHCDS_BROKER_URL"]
        assert settings.redis_url == "redis://redis:6379/0"  # the replay cache, whichever the broker
        assert settings.database_url == "postgresql+psycopg://bhcds:change-me@postgres:5432/bhcds"
        assert settings.auth_enabled is True
        assert "https://ehr.example.org" in settings.auth_issuers
        assert settings.metrics_port == 9090


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture
def local_services(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The compose hosts mapped onto this machine: a schema and a namespace of this test's own."""
    if not postgres_reachable():
        service_unavailable("PostgreSQL at 127.0.0.1:5432")
    if not redis_reachable():
        service_unavailable("Redis at 127.0.0.1:6379")
    namespace = f"bhcds-compose-{uuid.uuid4().hex[:10]}"
    broker = REDIS_URL
    if request.param == "rabbitmq":
        from tests.test_reminders_end_to_end import drop_rabbitmq_namespace, rabbitmq_reachable

        if not rabbitmq_reachable():
            service_unavailable("RabbitMQ at 127.0.0.1:5672")
        broker = RABBITMQ_URL
        request.addfinalizer(lambda: drop_rabbitmq_namespace(namespace))
    with postgres_schema() as pg:
        try:
            yield {"database": pg, "broker": broker, "redis": REDIS_URL, "namespace": namespace}
        finally:
            drop_redis_namespace(namespace)


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize("local_services", ["redis", "rabbitmq"], indirect=True)
def test_the_topology_starts_from_its_settings(local_services: dict[str, str], tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    with ExitStack() as stack:
        for name in APP_SERVICES:
            env = {k: v for k, v in os.environ.items() if not k.startswith("BHCDS_")}
            env.update(_environment(name))
            env.update(
                BHCDS_DATABASE_URL=local_services["database"],
                BHCDS_BROKER_URL=local_services["broker"],
                BHCDS_REDIS_URL=local_services["redis"],
                BHCDS_CELERY_NAMESPACE=local_services["namespace"],
                BHCDS_METRICS_HOST="127.0.0.1",
                BHCDS_METRICS_PORT=str(metrics_port),
                BHCDS_STATE_DIR=str(tmp_path / "state" / name),  # the Dockerfile's state dir
                PYTHONPATH=str(REPO),
            )
            command = [str(port) if arg == "8080" else arg for arg in _services()[name]["command"]]
            command = ["127.0.0.1" if arg == "0.0.0.0" else arg for arg in command]
            cwd = tmp_path / name
            cwd.mkdir()
            logs[name] = tmp_path / f"{name}.log"
            out = stack.enter_context(logs[name].open("wb"))
            processes[name] = subprocess.Popen(
                [*COMMAND, *command], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, process_group=0
            )
        try:
            deadline = time.monotonic() + 60
            while _get(f"http://127.0.0.1:{port}/readyz") != 200:
                dead = {n: p.returncode for n, p in processes.items() if p.poll() is not None}
                if dead or time.monotonic() > deadline:
                    pytest.fail(f"/readyz not 200 ({dead}): {_tails(logs)}")
                time.sleep(0.3)
            assert _get(f"http://127.0.0.1:{metrics_port}/metrics") == 200
            assert _get(f"http://127.0.0.1:{port}/metrics") == 404
            time.sleep(5)  # a few seconds on: nothing has crashed
            dead = {n: p.returncode for n, p in processes.items() if p.poll() is not None}
            assert not dead, _tails(logs)
            assert list((tmp_path / "state" / "beat").glob("celerybeat-schedule*")), _tails(logs)
            assert all(not list((tmp_path / name).iterdir()) for name in APP_SERVICES)  # cwd untouched
            assert '"level":"ERROR"' not in "".join(log.read_text() for log in logs.values()), _tails(logs)
        finally:
            _stop(processes)


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    tree = {pid for proc in processes.values() for pid in descendants(proc.pid)}
    for proc in processes.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes.values():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for pid in tree:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def _tails(logs: dict[str, Path]) -> str:
    return "\n".join(f"--- {name}\n{log.read_text()[-2000:]}" for name, log in logs.items())
