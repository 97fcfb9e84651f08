"""The FastAPI application: the three bone-health services wired onto the CDS Hooks protocol.

Data flows one way: request → protocol (cds_hooks) → mapping → rules → cards (returned) and
reminders (reconciled in the database). Routes are thin; the work is in those layers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.orm import Session

import cds_hooks
from cds_hooks import handler_started, lap
from cds_hooks.errors import OPERATION_OUTCOME_SCHEMA, CdsError, invalid
from cds_hooks.handler import CdsService, HookCall
from cds_hooks.models import Card, new_uuid
from mappings import MappingError, build_record
from service import metrics
from service._readiness import Readiness
from service.cards.answer import in_order, lay_out, word
from service.cds_services import LANGUAGES, SERVICES, allergies_known, draft_resources
from service.evaluation import evaluate_record
from service.feedback.api import router as suppressions_router
from service.feedback.drafts import draft_keys
from service.feedback.policy import Active, Issued, Periods, SeenAtSelect, listen
from service.kernel.findings import Finding
from service.persistence import (
    SqlFeedbackStore,
    add_audit,
    audit_secret,
    make_engine,
    migrate,
    session_factory,
)
from service.persistence.feedback import act_on_feedback
from service.persistence.suppressions import in_force, lift, record_issued, seen_at_select
from service.persistence.write_behind import Write, WriteBehind
from service.reminders.api import router as reminders_router
from service.reminders.metrics import refresh_status_gauge
from service.reminders.schedule import reconcile
from service.rule_pages import router as rule_pages_router
from service.rules import Moment
from service.rules.definitions import drafts_about
from service.settings import Settings, get_settings

log = logging.getLogger("bone_health_cds.hooks")

Clock = Callable[[], datetime]
#: How long a hook waits for its patient's earlier writes before it reads the suppressions anyway.
_SETTLE_SECONDS = 0.5
#: After a failed read of the suppressions, calls skip it this long (and say so in the metrics).
_UNHEARD_SECONDS = 5.0


class BoneHealth:
    """The application: evaluates one hook call and keeps the reminder schedule in step."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        migrate(settings.database_url)
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine)
        self.audit_key = audit_secret(settings.audit_hmac_secret)
        self.readiness = Readiness(self.engine, settings)
        self.periods = feedback_periods(settings)
        self.writes = WriteBehind(self.sessions)
        self.writes.start()
        self._unheard_until = 0.0

    async def handle(self, call: HookCall) -> Sequence[Card]:
        handler_started()  # stage timings for the call's log line (cds_hooks)
        started = time.perf_counter()
        now = self.clock()
        loop = asyncio.get_running_loop()
        resources = [r for rs in call.data.values() for r in rs]
        drafts = draft_resources(call)
        try:
            record = build_record(call.patient_id, resources, drafts, allergies_known=allergies_known(call))
        except MappingError as exc:
            raise CdsError(400, "invalid", str(exc), expression=exc.field) from exc
        except RecursionError:  # e.g. extensions nested hundreds deep: the FHIR models recurse per level
            raise invalid("prefetch", "a resource is nested too deeply to read", code="structure") from None
        lap("mapping")
        moment = Moment.VIEW if call.hook == "patient-view" else Moment.ORDER
        evaluation = evaluate_record(record, now, self.settings, moment)
        keys = draft_keys(drafts)

        def drafts_of(finding: Finding) -> frozenset[str]:
            return frozenset(keys[r] for r in drafts_about(finding, record) if r in keys)

        lap("rules")
        # What the clinicians already answered for this patient: indexed reads, done here (a thread
        # would cost more in hand-offs than they take). The suppressions are written by the feedback
        # itself; only order-sign needs this patient's writes behind earlier answers (the cards of the
        # order-select just before), and waits for them on a thread if they are still on their way.
        if call.hook != "order-sign" or self.writes.settled(call.patient_id, timeout=0):
            active, seen = self._heard(call, now)
        else:
            active, seen = await loop.run_in_executor(None, self._settled_then_heard, call, now)
        listened = listen(in_order(evaluation.cards), call.hook, drafts_of, active, seen)
        findings = list(listened.findings)
        topics = [f.topic.value for f in findings]
        budget = self.settings.rules.card_budget if moment is Moment.VIEW else None
        layout = lay_out(findings, budget)
        uuids = [new_uuid() for _ in layout.cards]
        issued = [
            (uuid, self._issued(call, topic, covered, drafts_of))
            for uuid, (topic, covered) in zip(uuids, layout.cards, strict=True)
        ]
        lap("feedback")
        cards = word(layout, record, now, call.language, base_url=call.base_url, uuids=uuids)
        lap("cards")
        # Reminders, what each card is about (for feedback) and the audit row are written behind the
        # answer, in order, retried until committed (service/persistence/write_behind.py).
        latency_ms = (time.perf_counter() - started) * 1000
        self.writes.submit(
            *self._writes(
                call,
                evaluation.reminders,
                record.patient.deceased,
                now,
                topics,
                listened.risen,
                issued,
                latency_ms,
            )
        )
        metrics.observe_hook(call.service_id, topics, (time.perf_counter() - started))
        return cards  # the call's log line is written by cds_hooks

    @staticmethod
    def _issued(
        call: HookCall,
        topic: str,
        findings: Sequence[Finding],
        drafts_of: Callable[[Finding], frozenset[str]],
    ) -> Issued:
        covers = tuple((f.topic.value, f.indicator) for f in findings)
        drafts = sorted({k for f in findings for k in drafts_of(f)})
        return Issued(call.patient_id, call.hook, topic, covers, tuple(drafts))

    def _settled_then_heard(self, call: HookCall, now: datetime) -> tuple[list[Active], list[SeenAtSelect]]:
        self.writes.settled(call.patient_id, timeout=_SETTLE_SECONDS)  # e.g. the order-select just before
        return self._heard(call, now)

    def _heard(self, call: HookCall, now: datetime) -> tuple[list[Active], list[SeenAtSelect]]:
        """The suppressions in force for the patient, and (at order-sign) the cards of order-select.

        A database fault must not cost the clinician the cards: it is logged and counted, and the call
        answers as if nothing had been overridden; for a few seconds after one, calls do not try (a
        database that does not answer would otherwise hold each of them for the connect timeout).
        """
        s = self.settings
        if time.monotonic() < self._unheard_until:
            metrics.FEEDBACK_READ_FAILURES.inc()
            return [], []
        try:
            with self.engine.connect() as connection:
                active = in_force(connection, call.patient_id, now)
                seen = []
                if call.hook == "order-sign" and s.order_sign_repeat_filter:
                    since = now - timedelta(hours=s.order_select_memory_hours)
                    seen = seen_at_select(connection, call.patient_id, since)
            return active, seen
        except Exception as exc:
            self._unheard_until = time.monotonic() + _UNHEARD_SECONDS
            metrics.FEEDBACK_READ_FAILURES.inc()
            log.error("suppressions not read: %s", type(exc).__name__, extra={"service": call.service_id})
            return [], []

    def _writes(
        self,
        call: HookCall,
        reminders: Sequence[Finding],
        deceased: bool,
        now: datetime,
        topics: list[str],
        risen: Sequence[int],
        issued: Sequence[tuple[str, Issued]],
        latency_ms: float,
    ) -> tuple[Write, ...]:
        """The call's writes: reconcile its reminders and lift the suppressions its risen findings
        overtook; remember the cards issued (and act on feedback that reached another process first);
        the audit row. Reminders of a quiet topic are reconciled like any other: held at delivery."""
        # The closures keep these values only, never ``call``: a waiting write must not hold the chart.
        patient, service, instance, issuer = call.patient_id, call.service_id, call.hook_instance, call.issuer
        reminders, risen, issued = tuple(reminders), tuple(risen), tuple(issued)

        def schedule(session: Session) -> None:
            reconcile(session, patient, reminders, deceased=deceased, now=now)
            lift(session, risen, now, "risen")

        def remember(session: Session) -> None:
            record_issued(session, service, now, issued)
            if issued:
                act_on_feedback(session, [uuid for uuid, _ in issued], self.periods, known=dict(issued))

        def audit(session: Session) -> None:
            add_audit(
                session,
                secret=self.audit_key,
                service=service,
                hook_instance=instance,
                issuer=issuer,
                patient_id=patient,
                topics=topics,
                latency_ms=latency_ms,
                outcome="ok",
            )

        return (
            Write("reminders", patient, schedule),
            Write("cards-issued", patient, remember),
            Write("audit", patient, audit),
        )


class _Metrics:
    """The protocol's events as Prometheus metrics (cds_hooks.Observer)."""

    def hook_call(self, record: cds_hooks.CallRecord) -> None:
        service = record.service_id or "unknown"
        metrics.HOOK_CALLS.labels(service=service, outcome=record.outcome).inc()
        metrics.HOOK_CALL_SECONDS.labels(service=service).observe(record.latency_seconds)

    def replay_cache_fallback(self) -> None:
        metrics.REPLAY_CACHE_FALLBACKS.inc()


_REMINDER_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "No patient, or an unknown status",
        "content": {"application/fhir+json": {"schema": OPERATION_OUTCOME_SCHEMA}},
    },
    401: {
        "description": "No valid JWT (auth on)",
        "content": {"application/json": {"schema": OPERATION_OUTCOME_SCHEMA}},
    },
}


def feedback_periods(settings: Settings) -> Periods:
    """How long each override reason quiets a topic, from the settings."""
    return Periods(
        remind_later=timedelta(days=settings.quiet_remind_later_days),
        patient_declined=timedelta(days=settings.quiet_patient_declined_days),
        not_applicable=timedelta(days=settings.quiet_not_applicable_days),
        addressed_elsewhere=timedelta(days=settings.quiet_addressed_elsewhere_days),
        critical_max=timedelta(days=settings.quiet_critical_max_days),
        draft_override=timedelta(hours=settings.draft_override_hours),
    )


def protocol_config(settings: Settings) -> cds_hooks.ProtocolConfig:
    """The protocol's settings, from the application's one settings class."""
    return cds_hooks.ProtocolConfig(
        auth_enabled=settings.auth_enabled,
        issuers={
            iss: cds_hooks.IssuerPolicy(
                jwks=cfg.jwks,
                jku=tuple(cfg.jku),
                fhir_servers=tuple(cfg.fhir_servers) if cfg.fhir_servers is not None else None,
            )
            for iss, cfg in settings.auth_issuers.items()
        },
        fhir_servers=tuple(settings.fhir_servers) if settings.fhir_servers is not None else None,
        public_base_url=settings.public_base_url,
        clock_skew_seconds=settings.auth_clock_skew_seconds,
        cors_origins=tuple(settings.cors_origins),
        cors_methods=("GET", "POST", "DELETE", "OPTIONS"),  # DELETE: lifting a suppression
        max_body_bytes=settings.max_body_bytes,
        fhir_timeout_seconds=settings.fhir_timeout_seconds,
        fhir_max_pages=settings.fhir_max_pages,
        fhir_max_response_bytes=settings.fhir_max_response_bytes,
        hook_deadline_ms=settings.hook_deadline_ms,
        replay_cache_redis_url=settings.replay_cache_url,
    )


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The ASGI app. ``clock`` is injectable so tests and scenarios run at a fixed time."""
    settings = settings or get_settings()
    bone_health = BoneHealth(settings, clock or (lambda: datetime.now(UTC)))

    metrics_server = None
    if settings.metrics_port is not None:  # /metrics on a port of its own, off the one the EHRs reach
        from service.metrics_server import MetricsServer

        metrics_server = MetricsServer(
            _metrics_app(bone_health), settings.metrics_host, settings.metrics_port
        )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if metrics_server is not None:
            metrics_server.start()
        try:
            yield
        finally:
            if metrics_server is not None:
                metrics_server.stop()
            bone_health.writes.close()  # the writes behind the last answers, before the process ends
            bone_health.engine.dispose()

    app = FastAPI(
        title="Bone Health CDS",
        version="0.1.0",
        description="CDS Hooks 2.0 service: bone health in type 2 diabetes and obesity.",
        lifespan=lifespan,
    )
    app.state.bone_health = bone_health
    services = [CdsService(definition=d, handler=bone_health.handle) for d in SERVICES]
    authenticate = cds_hooks.mount(
        app,
        services,
        protocol_config(settings),
        SqlFeedbackStore(
            bone_health.sessions, bone_health.periods, bone_health.clock, bone_health.writes.settled
        ),
        observer=_Metrics(),
        languages=LANGUAGES,
    )
    # The reminder list names patients: the same JWT as the hooks (aud = this URL) when auth is on.
    app.include_router(
        reminders_router(bone_health.sessions, bone_health.writes.settled),
        dependencies=[Depends(authenticate)],
        tags=["Reminders"],
        responses=_REMINDER_ERRORS,
    )

    app.include_router(
        suppressions_router(bone_health.sessions, bone_health.clock, bone_health.writes.settled),
        dependencies=[Depends(authenticate)],
        tags=["Suppressions"],
        responses=_REMINDER_ERRORS,
    )

    # The clinicians' rule pages every card links: no patient data, so no token.
    app.include_router(rule_pages_router(settings))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        status = await anyio.to_thread.run_sync(bone_health.readiness.check)
        ok = all(v.startswith("ok") for v in status.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", **status}, status_code=200 if ok else 503
        )

    if metrics_server is None:
        app.add_api_route("/metrics", _prometheus_endpoint(bone_health), include_in_schema=False)
    return app


def _prometheus_endpoint(bone_health: BoneHealth) -> Callable[[], Any]:
    async def prometheus() -> Response:
        try:  # reminders by status, counted in the database so every API process reports the truth
            # (after this process's writes behind its answers, for at most a second)
            await anyio.to_thread.run_sync(lambda: bone_health.writes.settled(timeout=1.0))
            await anyio.to_thread.run_sync(refresh_status_gauge, bone_health.sessions)
        except Exception as exc:  # the database is down: serve the other metrics, /readyz says why
            log.warning("reminder counts not refreshed: %s", type(exc).__name__)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return prometheus


def _metrics_app(bone_health: BoneHealth) -> FastAPI:
    """The app of BHCDS_METRICS_PORT: /metrics and nothing else."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_api_route("/metrics", _prometheus_endpoint(bone_health), include_in_schema=False)
    return app
