"""The periodic scan: find patients on tracked therapies on the FHIR server and evaluate each, so
reminders exist for patients whose chart nobody opened (architecture.md "Scans").

A scan is a run (a ``scan_runs`` row) whose candidates are evaluated in small batches. Under Celery
the scan task only searches: it pages through the candidates and enqueues one batch task per
:data:`BATCH_SIZE` patients as they are found, so every worker shares the load, and a worker killed
mid-batch loses nothing (the batch is acknowledged late and redelivered). A batch commits its
patients' reminders, its counters and its ``scan_batches`` row in one transaction, so a batch
delivered twice is counted once, and evaluating a patient twice reconciles the same reminder rows.
:func:`scan` runs the same batches in this process (the ``bone-health-cds scan`` command).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import Finding
from service.persistence import make_engine, session_factory
from service.persistence.models import ScanBatch, ScanRun, utcnow
from service.reminders._therapy_codes import RXNORM, TRACKED_THERAPY_CODES
from service.reminders._tls import tls_context
from service.reminders.schedule import reconcile
from service.settings import Settings

log = logging.getLogger(__name__)

Evaluate = Callable[[str, list[dict[str, Any]], datetime], Sequence[Finding]]
Enqueue = Callable[[int, int, list[str]], None]  # (run id, batch number, patient ids)
PATIENT_TYPES = (
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationStatement",
    "MedicationDispense",
    "Procedure",
)
BATCH_SIZE = 20  # patients per batch task: small, so a lost worker costs little and workers share evenly
_CODES_PER_SEARCH = 20  # keeps search URLs short for servers with URL limits
_PAGE_SIZE = 200
_MAX_PAGES = 10_000  # a guard against a server whose `next` links never end


class ScanError(Exception):
    """The FHIR server failed in a way that stops the scan of one patient (or the search)."""


class PatientGone(ScanError):
    """The server no longer has the patient (404 or 410 on the Patient read)."""


@dataclass(frozen=True)
class BatchResult:
    evaluated: int
    failed: int


async def scan(
    settings: Settings,
    evaluate: Evaluate,
    *,
    now: datetime | None = None,
    factory: sessionmaker[Session] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Evaluate every patient with a tracked MedicationRequest, batch after batch in this process;
    returns how many were evaluated.

    A patient whose data cannot be fetched is logged and skipped (the next scan tries again); a
    failing search fails the scan.
    """
    if not settings.fhir_base_url:
        log.warning("scan skipped: BHCDS_FHIR_BASE_URL is not set")
        return 0
    now = now or utcnow()
    factory = factory or session_factory(make_engine(settings.database_url))
    batches: list[tuple[int, int, list[str]]] = []
    await enqueue_scan(
        settings, lambda *batch: batches.append(batch), now=now, factory=factory, transport=transport
    )
    evaluated = 0
    for run_id, number, patients in batches:
        result = await evaluate_batch(
            settings, evaluate, run_id, number, patients, now=now, factory=factory, transport=transport
        )
        evaluated += result.evaluated if result else 0
    return evaluated


async def enqueue_scan(
    settings: Settings,
    enqueue: Enqueue,
    *,
    now: datetime,
    factory: sessionmaker[Session],
    transport: httpx.AsyncBaseTransport | None = None,
    batch_size: int = BATCH_SIZE,
) -> int | None:
    """Start a run, search its candidates and hand each batch to ``enqueue`` as soon as it is full;
    returns the run's id (None when no FHIR server is configured)."""
    if not settings.fhir_base_url:
        log.warning("scan skipped: BHCDS_FHIR_BASE_URL is not set")
        return None
    with factory.begin() as session:
        run = ScanRun(started=now, evaluated=0, failed=0)
        session.add(run)
        session.flush()
        run_id = run.id
    base = settings.fhir_base_url.rstrip("/")
    seen: set[str] = set()
    pending: list[str] = []
    batches = 0

    def flush() -> None:
        nonlocal batches
        enqueue(run_id, batches, sorted(pending))
        batches += 1
        pending.clear()

    async with _client(settings, base, transport) as client:
        async for patient in _candidate_patients(client, base):
            if patient not in seen:
                seen.add(patient)
                pending.append(patient)
                if len(pending) >= batch_size:
                    flush()
    if pending:
        flush()
    with factory.begin() as session:
        session.execute(update(ScanRun).where(ScanRun.id == run_id).values(candidates=len(seen)))
        _finish_if_done(session, run_id)
    log.info("scan run %d: %d candidate patients in %d batches", run_id, len(seen), batches)
    return run_id


async def evaluate_batch(
    settings: Settings,
    evaluate: Evaluate,
    run_id: int,
    batch: int,
    patient_ids: Sequence[str],
    *,
    now: datetime,
    factory: sessionmaker[Session],
    transport: httpx.AsyncBaseTransport | None = None,
) -> BatchResult | None:
    """Evaluate one batch of a run and commit it whole; None when the batch was already committed
    (a redelivery after a worker died between the commit and the acknowledgement)."""
    if await asyncio.to_thread(_batch_done, factory, run_id, batch):
        log.info("scan run %d: batch %d was already done", run_id, batch)
        return None
    base = (settings.fhir_base_url or "").rstrip("/")
    gate = asyncio.Semaphore(max(1, settings.scan_concurrency))
    async with _client(settings, base, transport) as client:

        async def one(patient_id: str) -> tuple[str, Sequence[Finding], bool] | None:
            async with gate:
                return await _evaluate_patient(client, base, patient_id, evaluate, now)

        results = await asyncio.gather(*(one(p) for p in patient_ids))
    done = [r for r in results if r is not None]
    result = BatchResult(evaluated=len(done), failed=len(results) - len(done))
    try:
        await asyncio.to_thread(_commit_batch, factory, run_id, batch, done, result, now)
    except IntegrityError:  # another delivery of this batch committed first
        log.info("scan run %d: batch %d was committed by another delivery", run_id, batch)
        return None
    log.info(
        "scan run %d: batch %d: %d evaluated, %d skipped", run_id, batch, result.evaluated, result.failed
    )
    return result


def recent_runs(factory: sessionmaker[Session], limit: int = 10) -> list[dict[str, Any]]:
    """The latest scan runs, newest first, as JSON-ready dicts."""
    with factory() as session:
        runs = session.execute(select(ScanRun).order_by(ScanRun.id.desc()).limit(limit)).scalars().all()
        return [
            {
                "id": r.id,
                "started": r.started.isoformat(),
                "finished": r.finished.isoformat() if r.finished else None,
                "candidates": r.candidates,
                "evaluated": r.evaluated,
                "failed": r.failed,
            }
            for r in runs
        ]


def _client(settings: Settings, base: str, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        headers=_headers(settings),
        timeout=settings.fhir_timeout_seconds * 10,
        transport=transport,
        verify=tls_context(),
    )


def _batch_done(factory: sessionmaker[Session], run_id: int, batch: int) -> bool:
    with factory() as session:
        return session.get(ScanBatch, (run_id, batch)) is not None


def _commit_batch(
    factory: sessionmaker[Session],
    run_id: int,
    batch: int,
    done: Sequence[tuple[str, Sequence[Finding], bool]],
    result: BatchResult,
    now: datetime,
) -> None:
    """The batch's reminders, its row and the run's counters: all or nothing."""
    with factory.begin() as session:
        session.add(ScanBatch(run_id=run_id, batch=batch, done_at=utcnow()))
        session.flush()  # a second delivery of the batch stops here (primary key), before any write
        for patient_id, findings, deceased in done:
            reconcile(session, patient_id, findings, deceased=deceased, now=now)
        session.execute(
            update(ScanRun)
            .where(ScanRun.id == run_id)
            .values(evaluated=ScanRun.evaluated + result.evaluated, failed=ScanRun.failed + result.failed)
        )
        _finish_if_done(session, run_id)


def _finish_if_done(session: Session, run_id: int) -> None:
    """Mark the run finished once its candidates are known and all of them are counted."""
    session.execute(
        update(ScanRun)
        .where(
            and_(
                ScanRun.id == run_id,
                ScanRun.finished.is_(None),
                ScanRun.candidates.is_not(None),
                ScanRun.evaluated + ScanRun.failed >= ScanRun.candidates,
            )
        )
        .values(finished=utcnow())
    )


async def _candidate_patients(client: httpx.AsyncClient, base: str) -> AsyncIterator[str]:
    """The subject of every tracked MedicationRequest, page by page (a patient may come again)."""
    for start in range(0, len(TRACKED_THERAPY_CODES), _CODES_PER_SEARCH):
        chunk = TRACKED_THERAPY_CODES[start : start + _CODES_PER_SEARCH]
        params = {
            "code": ",".join(f"{RXNORM}|{code}" for code in chunk),
            "_elements": "subject",
            "_count": str(_PAGE_SIZE),
        }
        async for resource in _search(client, base, "MedicationRequest", params):
            patient = _patient_id(resource.get("subject", {}).get("reference", ""))
            if patient:
                yield patient


async def _evaluate_patient(
    client: httpx.AsyncClient,
    base: str,
    patient_id: str,
    evaluate: Evaluate,
    now: datetime,
) -> tuple[str, Sequence[Finding], bool] | None:
    """The patient's findings and whether they died; None when the chart cannot be fetched."""
    try:
        resources = await _patient_data(client, base, patient_id)
    except (ScanError, httpx.HTTPError) as error:
        log.warning("scan: patient %s skipped: %s", patient_id, error)
        return None
    deceased = is_deceased(resources)
    findings = [] if deceased else await asyncio.to_thread(evaluate, patient_id, resources, now)
    return patient_id, findings, deceased


async def fetch_chart(settings: Settings, patient_id: str) -> list[dict[str, Any]]:
    """One patient's resources from ``settings.fhir_base_url`` (delivery re-reads the chart with it)."""
    base = (settings.fhir_base_url or "").rstrip("/")
    async with _client(settings, base, None) as client:
        return await _patient_data(client, base, patient_id)


def is_deceased(resources: Sequence[dict[str, Any]]) -> bool:
    return any(_is_deceased(r) for r in resources if r.get("resourceType") == "Patient")


def _headers(settings: Settings) -> dict[str, str]:
    headers = {"Accept": "application/fhir+json"}
    if settings.fhir_token:
        headers["Authorization"] = f"Bearer {settings.fhir_token}"
    return headers


async def _patient_data(client: httpx.AsyncClient, base: str, patient_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/Patient/{patient_id}")
    if response.status_code in (404, 410):
        raise PatientGone(f"Patient read answered HTTP {response.status_code}")
    if response.status_code != 200:
        raise ScanError(f"Patient read answered HTTP {response.status_code}")
    resources: list[dict[str, Any]] = [response.json()]
    for resource_type in PATIENT_TYPES:
        params = {"patient": patient_id, "_count": str(_PAGE_SIZE)}
        resources.extend([r async for r in _search(client, base, resource_type, params)])
    return resources


async def _search(
    client: httpx.AsyncClient, base: str, resource_type: str, params: dict[str, str]
) -> AsyncIterator[dict[str, Any]]:
    """Yield the matching resources of a search, following the Bundle's ``next`` links."""
    response = await client.get(f"/{resource_type}", params=params)
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        if response.status_code != 200:
            raise ScanError(f"{resource_type} search answered HTTP {response.status_code}")
        bundle = response.json()
        for entry in bundle.get("entry", []):
            resource = entry.get("resource") or {}
            if (
                resource.get("resourceType") == resource_type
                and entry.get("search", {}).get("mode") != "include"
            ):
                yield resource
        following = next(
            (link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None
        )
        if following is None or following in seen:
            return
        seen.add(following)
        response = await client.get(_same_server(following, base))
    raise ScanError(f"{resource_type} search has more than {_MAX_PAGES} pages")


def _same_server(url: str, base: str) -> str:
    """Follow ``next`` links only on the configured server (the bearer token goes with them)."""
    if url.startswith(("http://", "https://")) and not url.startswith(base + "/") and url != base:
        raise ScanError("a next link points to another server")
    return url


def _patient_id(reference: str) -> str | None:
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
        return parts[-1]
    if len(parts) >= 4 and parts[-4] == "Patient" and parts[-2] == "_history":
        return parts[-3]
    return None


def _is_deceased(patient: dict[str, Any]) -> bool:
    return patient.get("deceasedBoolean") is True or bool(patient.get("deceasedDateTime"))
