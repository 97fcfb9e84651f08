"""The periodic scan: find patients on tracked therapies on the FHIR server and evaluate each, so
reminders exist for patients whose chart nobody opened (architecture.md "Scans")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from service.kernel.findings import Finding
from service.persistence import make_engine, session_factory
from service.persistence.models import utcnow
from service.reminders._therapy_codes import RXNORM, TRACKED_THERAPY_CODES
from service.reminders.schedule import reconcile
from service.settings import Settings

log = logging.getLogger(__name__)

Evaluate = Callable[[str, list[dict[str, Any]], datetime], Sequence[Finding]]
PATIENT_TYPES = (
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationStatement",
    "MedicationDispense",
    "Procedure",
)
_CODES_PER_SEARCH = 20  # keeps search URLs short for servers with URL limits
_PAGE_SIZE = 200
_MAX_PAGES = 10_000  # a guard against a server whose `next` links never end


class ScanError(Exception):
    """The FHIR server failed in a way that stops the scan of one patient (or the search)."""


class PatientGone(ScanError):
    """The server no longer has the patient (404 or 410 on the Patient read)."""


async def scan(
    settings: Settings,
    evaluate: Evaluate,
    *,
    now: datetime | None = None,
    factory: sessionmaker[Session] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Evaluate every patient with a tracked MedicationRequest; returns how many were evaluated.

    A patient whose data cannot be fetched is logged and skipped (the next scan tries again); a
    failing search fails the scan.
    """
    if not settings.fhir_base_url:
        log.warning("scan skipped: BHCDS_FHIR_BASE_URL is not set")
        return 0
    now = now or utcnow()
    factory = factory or session_factory(make_engine(settings.database_url))
    base = settings.fhir_base_url.rstrip("/")
    async with httpx.AsyncClient(
        base_url=base,
        headers=_headers(settings),
        timeout=settings.fhir_timeout_seconds * 10,
        transport=transport,
    ) as client:
        patients = await _candidate_patients(client, base)
        log.info("scan: %d candidate patients", len(patients))
        gate = asyncio.Semaphore(max(1, settings.scan_concurrency))

        async def one(patient_id: str) -> bool:
            async with gate:
                return await _evaluate_patient(client, base, patient_id, evaluate, factory, now)

        results = await asyncio.gather(*(one(p) for p in sorted(patients)))
    evaluated = sum(results)
    log.info("scan: %d patients evaluated, %d skipped", evaluated, len(results) - evaluated)
    return evaluated


async def _candidate_patients(client: httpx.AsyncClient, base: str) -> set[str]:
    patients: set[str] = set()
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
                patients.add(patient)
    return patients


async def _evaluate_patient(
    client: httpx.AsyncClient,
    base: str,
    patient_id: str,
    evaluate: Evaluate,
    factory: sessionmaker[Session],
    now: datetime,
) -> bool:
    try:
        resources = await _patient_data(client, base, patient_id)
    except (ScanError, httpx.HTTPError) as error:
        log.warning("scan: patient %s skipped: %s", patient_id, error)
        return False
    deceased = is_deceased(resources)
    findings = [] if deceased else await asyncio.to_thread(evaluate, patient_id, resources, now)
    await asyncio.to_thread(_reconcile, factory, patient_id, findings, deceased, now)
    return True


async def fetch_chart(settings: Settings, patient_id: str) -> list[dict[str, Any]]:
    """One patient's resources from ``settings.fhir_base_url`` (delivery re-reads the chart with it)."""
    base = (settings.fhir_base_url or "").rstrip("/")
    async with httpx.AsyncClient(
        base_url=base, headers=_headers(settings), timeout=settings.fhir_timeout_seconds * 10
    ) as client:
        return await _patient_data(client, base, patient_id)


def is_deceased(resources: Sequence[dict[str, Any]]) -> bool:
    return any(_is_deceased(r) for r in resources if r.get("resourceType") == "Patient")


def _headers(settings: Settings) -> dict[str, str]:
    headers = {"Accept": "application/fhir+json"}
    if settings.fhir_token:
        headers["Authorization"] = f"Bearer {settings.fhir_token}"
    return headers


def _reconcile(
    factory: sessionmaker[Session],
    patient_id: str,
    findings: Sequence[Finding],
    deceased: bool,
    now: datetime,
) -> None:
    with factory.begin() as session:
        reconcile(session, patient_id, findings, deceased=deceased, now=now)


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
