"""docker-compose.yml cannot run here (no Docker engine): check it agrees with the CLI and settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from service.cli import build_parser
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_production_topology_has_every_process() -> None:
    assert set(_compose()["services"]) == {"api", "worker", "beat", "redis", "postgres"}


def test_every_command_is_a_cli_command() -> None:
    parser = build_parser()
    for name in ("api", "worker", "beat"):
        command = _compose()["services"][name]["command"]
        args = parser.parse_args(command)  # exits (fails the test) on an unknown command or flag
        assert args.command == {"api": "serve"}.get(name, name)


def test_every_environment_variable_is_a_setting_that_parses() -> None:
    fields = {f"BHCDS_{name.upper()}" for name in Settings.model_fields}
    for name in ("api", "worker", "beat"):
        env = _compose()["services"][name]["environment"]
        assert set(env) <= fields, set(env) - fields
        settings = Settings(**{k.removeprefix("BHCDS_").lower(): v for k, v in env.items()})
        assert settings.broker_url == "redis://redis:6379/0"
        assert settings.database_url.startswith("postgresql")
        assert settings.auth_enabled is True
        assert "https://ehr.example.org" in settings.auth_issuers
