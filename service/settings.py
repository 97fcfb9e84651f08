"""The one settings class: infrastructure here, clinical thresholds in :mod:`service.kernel.thresholds`.

Environment variables use the ``BHCDS_`` prefix (``BHCDS_DATABASE_URL``, ``BHCDS_AUTH_ENABLED``...).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    auth_clock_skew_seconds: int = 60
    public_base_url: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    max_body_bytes: int = 20 * 1024 * 1024
    hook_deadline_ms: int = 4000
    fhir_timeout_seconds: float = 3.0
    fhir_max_pages: int = 50
    fhir_max_response_bytes: int = 10 * 1024 * 1024  # one FHIR response (decoded); larger → 412

    # storage and workers
    database_url: str = "sqlite:///./var/bone-health-cds.db"
    broker_url: str | None = None  # None: embedded broker (kombu SQLAlchemy transport on SQLite)
    redis_url: str | None = None  # JWT replay cache; None: the broker's URL when it is redis://
    state_dir: str | None = (
        None  # local state (beat schedule, embedded broker); None: beside SQLite, or ./var
    )
    beat_schedule_path: str | None = None  # beat's schedule file; None: <state_dir>/celerybeat-schedule
    metrics_port: int | None = None  # serve /metrics on this port only (not the API's); None: on the API
    metrics_host: str = "127.0.0.1"  # the interface of metrics_port
    dispatch_interval_seconds: int = 300
    scan_interval_seconds: int = 86400
    fhir_base_url: str | None = None  # where reminders are delivered as FHIR Tasks and scans search
    fhir_token: str | None = None
    reminder_webhook_url: str | None = None
    reminder_webhook_secret: str | None = None
    delivery_max_attempts: int = 5
    delivery_timeout_seconds: float = 10.0  # one HTTP attempt to the FHIR server or webhook
    delivery_backoff_seconds: float = 2.0  # first retry waits up to this (full jitter), doubling each time
    delivery_backoff_max_seconds: float = 300.0
    reminder_lease_seconds: int = 900  # a claimed reminder untouched this long is re-queued (worker died)
    reminder_recheck_chart: bool = True  # delivery re-reads the chart from fhir_base_url first (rules.md)
    celery_namespace: str = "bhcds"  # prefix of every broker key: several deployments share one Redis
    scan_concurrency: int = 8  # patients fetched at once by the periodic scan
    audit_hmac_secret: str | None = None  # key of the patient hash in hook_audit; None: random per process
    audit_retention_days: int = 365  # hook_audit rows older than this are pruned (retention.prune_audit)

    # clinical content: BHCDS_RULES__<NAME>, plus the profile at the top level as documented
    population_profile: PopulationProfile = PopulationProfile.CN
    rules: RuleSettings = Field(default_factory=RuleSettings)

    log_level: str = "INFO"

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

    def model_post_init(self, __context: Any) -> None:
        # The population profile is a top-level setting (BHCDS_POPULATION_PROFILE); the rules read it.
        if self.rules.population_profile is not self.population_profile:
            self.rules = self.rules.model_copy(update={"population_profile": self.population_profile})

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: API, worker and beat run in one process tree."""
        return self.broker_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
