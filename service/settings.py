"""The one settings class: infrastructure here, clinical thresholds in :mod:`service.kernel.thresholds`.

Environment variables use the ``BHCDS_`` prefix (``BHCDS_DATABASE_URL``, ``BHCDS_AUTH_ENABLED``...).
:func:`get_settings` refuses to start on an unknown ``BHCDS_*`` name, a value of the wrong type or one
outside its bounds: :class:`ConfigurationError`, one line naming the variable.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from service.kernel.thresholds import PopulationProfile, RuleSettings


class IssuerConfig(BaseModel):
    """One trusted EHR: where its keys are, which ``jku`` URLs and FHIR servers it may name."""

    jwks: str  # URL or file path of the issuer's JWK Set
    jku: list[str] = Field(default_factory=list)
    fhir_servers: list[str] | None = None  # None: any fhirServer (the plain-string form)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BHCDS_", env_nested_delimiter="__", extra="ignore")

    # protocol and security
    auth_enabled: bool = True
    auth_issuers: dict[str, IssuerConfig] = Field(default_factory=dict)
    auth_clock_skew_seconds: int = Field(60, ge=0, le=600)
    public_base_url: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    # With auth off, the fhirServer base URLs a request may name; None (unset): any
    fhir_servers: Annotated[list[str] | None, NoDecode] = None
    max_body_bytes: int = Field(20 * 1024 * 1024, ge=1024, le=1024**3)
    hook_deadline_ms: int = Field(4000, ge=100, le=120_000)
    fhir_timeout_seconds: float = Field(3.0, gt=0, le=120)
    fhir_max_pages: int = Field(50, ge=1, le=10_000)
    # one FHIR response (decoded); larger → 412
    fhir_max_response_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=1024**3)

    # storage and workers
    database_url: str = "sqlite:///./var/bone-health-cds.db"
    broker_url: str | None = None  # None: embedded broker (kombu SQLAlchemy transport on SQLite)
    redis_url: str | None = None  # JWT replay cache; None: the broker's URL when it is redis://
    # local state (beat schedule, embedded broker); None: beside SQLite, or ./var
    state_dir: str | None = None
    beat_schedule_path: str | None = None  # beat's schedule file; None: <state_dir>/celerybeat-schedule
    metrics_port: int | None = Field(
        None, ge=1, le=65_535
    )  # serve /metrics on this port only; None: on the API
    metrics_host: str = "127.0.0.1"  # the interface of metrics_port
    dispatch_interval_seconds: int = Field(300, ge=1, le=86_400)
    scan_interval_seconds: int = Field(86400, ge=60, le=31 * 86_400)
    fhir_base_url: str | None = None  # where reminders are delivered as FHIR Tasks and scans search
    fhir_token: str | None = None
    reminder_webhook_url: str | None = None
    reminder_webhook_secret: str | None = None
    delivery_max_attempts: int = Field(5, ge=1, le=100)
    # one HTTP attempt to the FHIR server or webhook
    delivery_timeout_seconds: float = Field(10.0, gt=0, le=600)
    # first retry waits up to this (full jitter), doubling each time
    delivery_backoff_seconds: float = Field(2.0, gt=0, le=3600)
    delivery_backoff_max_seconds: float = Field(300.0, gt=0, le=86_400)
    # reminders per delivery task: the batch shares its attempt count and its outcome writes
    delivery_batch_size: int = Field(50, ge=1, le=500)
    # a claimed reminder untouched this long is re-queued (worker died)
    reminder_lease_seconds: int = Field(900, ge=1, le=7 * 86_400)
    reminder_recheck_chart: bool = True  # delivery re-reads the chart from fhir_base_url first (rules.md)
    # prefix of every broker key: several deployments share one Redis
    celery_namespace: str = Field("bhcds", min_length=1)
    scan_concurrency: int = Field(8, ge=1, le=256)  # patients fetched at once by the periodic scan
    audit_hmac_secret: str | None = None  # key of the patient hash in hook_audit; None: random per process
    # hook_audit rows older than this are pruned (retention.prune_audit)
    audit_retention_days: int = Field(365, ge=1, le=36_525)

    # feedback (architecture.md): how long an override quiets the topic for that patient (cards and
    # reminders), a critical card at most quiet_critical_max_days whatever the reason
    quiet_remind_later_days: int = Field(30, ge=1, le=3653)
    quiet_patient_declined_days: int = Field(183, ge=1, le=3653)
    quiet_not_applicable_days: int = Field(365, ge=1, le=3653)
    quiet_addressed_elsewhere_days: int = Field(92, ge=1, le=3653)
    quiet_critical_max_days: int = Field(30, ge=1, le=3653)
    # an order-time override holds this long for the same unchanged draft (an ordering session)
    draft_override_hours: int = Field(24, ge=1, le=24 * 31)
    # at order-sign, a warning or info card already shown at order-select for the same draft is not
    # repeated (turn off for an EHR that shows order-select cards nowhere); remembered this long
    order_sign_repeat_filter: bool = True
    order_select_memory_hours: int = Field(24, ge=1, le=24 * 31)

    # clinical content: BHCDS_RULES__<NAME>, plus the profile at the top level as documented
    population_profile: PopulationProfile = PopulationProfile.CN
    rules: RuleSettings = Field(default_factory=RuleSettings)

    log_level: str = "INFO"  # a logging level name, any case

    # An API process's cyclic garbage collector (service/cli.py; measured in docs/performance.md)
    gc_freeze: bool = True  # freeze the heap once started, and again after gc_freeze_after_calls
    gc_freeze_after_calls: int = Field(200, ge=0, le=1_000_000)  # 0: only at startup
    gc_threshold: int = Field(700, ge=100, le=1_000_000)  # allocations between young collections

    @field_validator("auth_issuers", mode="before")
    @classmethod
    def _issuers(cls, value: Any) -> Any:
        """Accept the JSON object of architecture.md: issuer → "<jwks>" or {"jwks": ..., ...}."""
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if isinstance(value, dict):
            return {iss: {"jwks": cfg} if isinstance(cfg, str) else cfg for iss, cfg in value.items()}
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("fhir_servers", mode="before")
    @classmethod
    def _fhir_servers(cls, value: Any) -> Any:
        """Comma-separated or a JSON list, like the CORS origins; an empty value allows none."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("rules", mode="before")
    @classmethod
    def _known_thresholds(cls, value: Any) -> Any:
        """A misspelt threshold in ``BHCDS_RULES`` (JSON) or in code is an error, not a silent default."""
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(RuleSettings.model_fields))
            if unknown:
                raise ValueError(f"unknown threshold {', '.join(unknown)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level

    def model_post_init(self, __context: Any) -> None:
        # The population profile is a top-level setting (BHCDS_POPULATION_PROFILE); the rules read it.
        if self.rules.population_profile is not self.population_profile:
            self.rules = self.rules.model_copy(update={"population_profile": self.population_profile})

    @property
    def replay_cache_url(self) -> str | None:
        """The Redis of the shared JWT replay cache: BHCDS_REDIS_URL, else the broker's URL when the
        broker is Redis (RabbitMQ keeps no such cache); None: each API process keeps its own."""
        if self.redis_url is not None:
            return self.redis_url
        broker = self.broker_url
        return broker if broker is not None and broker.startswith(("redis://", "rediss://")) else None

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: API, worker and beat run in one process tree."""
        return self.broker_url is None


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENV_PREFIX = "BHCDS_"
_RULES_PREFIX = "RULES__"
# The test suite's own variables (database servers, stress rounds): never settings, never an error.
_RESERVED_PREFIX = ENV_PREFIX + "TEST_"
_SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD", "URL")  # values never echoed in an error


class ConfigurationError(ValueError):
    """The settings cannot start the service. ``str()`` is one line naming each offending variable."""


def known_variables() -> list[str]:
    """Every ``BHCDS_*`` name a setting reads (the population profile only at the top level)."""
    top = [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    rules = [
        ENV_PREFIX + _RULES_PREFIX + name.upper()
        for name in RuleSettings.model_fields
        if name not in Settings.model_fields
    ]
    return top + rules


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``BHCDS_*`` names in *environ* that no setting reads (names are case-insensitive)."""
    known = set(known_variables())
    return sorted(
        key
        for key in environ
        if key.upper().startswith(ENV_PREFIX)
        and not key.upper().startswith(_RESERVED_PREFIX)
        and key.upper() not in known
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment, or :class:`ConfigurationError` naming what is wrong."""
    environ = os.environ if environ is None else environ
    problems = [_unknown(name) for name in unknown_variables(environ)]
    if problems:
        raise ConfigurationError("; ".join(problems))
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(
            "; ".join(_invalid(e["loc"], e, environ) for e in error.errors(include_url=False))
        ) from error
    except SettingsError as error:  # a JSON setting that does not parse
        field = next((f for f in Settings.model_fields if f'"{f}"' in str(error)), None)
        if field is None:
            raise ConfigurationError(str(error)) from error
        raise ConfigurationError(
            f"{_shown(ENV_PREFIX + field.upper(), environ)}: must be valid JSON"
        ) from error


@lru_cache
def get_settings() -> Settings:
    return load_settings()


def _unknown(name: str) -> str:
    guess = difflib.get_close_matches(name.upper(), known_variables(), n=1, cutoff=0.8)
    return f"{name}: unknown setting" + (f" (did you mean {guess[0]}?)" if guess else "")


def _invalid(loc: tuple[int | str, ...], error: Any, environ: Mapping[str, str]) -> str:
    path = [str(part) for part in loc]
    depth = 2 if path[:1] == ["rules"] and len(path) > 1 else 1
    name = ENV_PREFIX + "__".join(path[:depth]).upper()
    inner = ".".join(path[depth:])  # e.g. an issuer inside BHCDS_AUTH_ISSUERS
    shown = _shown(name, environ, error.get("input"))
    return f"{shown}: {inner + ': ' if inner else ''}{_reason(error)}"


def _shown(name: str, environ: Mapping[str, str], fallback: Any = None) -> str:
    """``NAME=value`` as the operator wrote it (secrets and URLs hidden, long values cut)."""
    key = next((k for k in environ if k.upper() == name), None)
    if any(word in name for word in _SECRET_WORDS):
        return name
    if key is not None:
        value = environ[key]
    elif isinstance(fallback, str | int | float | bool):
        value = str(fallback)
    else:
        return name
    return f"{key or name}={value if len(value) <= 60 else value[:57] + '...'}"


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _reason(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        try:
            finite = math.isfinite(float(error.get("input")))
        except (TypeError, ValueError):
            finite = True
        if not finite:
            return "must be a finite number"
    reasons = {
        "greater_than_equal": lambda: f"must be at least {_number(ctx.get('ge'))}",
        "greater_than": lambda: f"must be greater than {_number(ctx.get('gt'))}",
        "less_than_equal": lambda: f"must be at most {_number(ctx.get('le'))}",
        "less_than": lambda: f"must be less than {_number(ctx.get('lt'))}",
        "int_parsing": lambda: "must be a whole number",
        "int_from_float": lambda: "must be a whole number",
        "int_type": lambda: "must be a whole number",
        "float_parsing": lambda: "must be a number",
        "float_type": lambda: "must be a number",
        "bool_parsing": lambda: "must be true or false",
        "bool_type": lambda: "must be true or false",
        "enum": lambda: f"must be one of {ctx.get('expected')}",
        "missing": lambda: "is required",
        "string_too_short": lambda: "must not be empty",
        "json_invalid": lambda: "must be valid JSON",
    }
    if kind in reasons:
        return reasons[kind]()
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]
