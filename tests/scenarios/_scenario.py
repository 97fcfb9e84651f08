"""Turn a scenario YAML file into a CDS Hooks request (see README.md in this folder)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from service.cds_services import PREFETCH_KEY_BY_TYPE

PATIENT_ID = "p1"
_RELATIVE = re.compile(r"^now(?:([+-])(\d+)d)?$")
_LISTS = {
    "conditions": "Condition",
    "observations": "Observation",
    "procedures": "Procedure",
    "medications": "MedicationRequest",
    "service_requests": "ServiceRequest",
}
_PREFETCH_KEY = PREFETCH_KEY_BY_TYPE
_DEFAULT_STATUS = {
    "Observation": "final",
    "Procedure": "completed",
    "MedicationRequest": "active",
    "MedicationStatement": "active",
    "MedicationAdministration": "completed",
    "MedicationDispense": "completed",
}


@dataclass
class Scenario:
    path: Path
    title: str
    now: datetime
    hook: str
    language: str
    request: dict[str, Any]
    expect: dict[str, str]
    absent: list[str]
    only: bool
    reminders: dict[str, date]
    detail_contains: dict[str, list[str]] = field(default_factory=dict)
    suggestions: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. {population_profile: who}
    no_reminders: bool = False  # true: no pending reminder may exist for the patient


def _resolve_dates(value: Any, now: datetime) -> Any:
    """Replace "now", "now-365d", "now+10d" with ISO dates relative to the scenario's clock."""
    if isinstance(value, dict):
        return {k: _resolve_dates(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_dates(v, now) for v in value]
    if isinstance(value, str):
        m = _RELATIVE.match(value.strip())
        if m:
            days = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
            return (now + timedelta(days=days)).isoformat()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _complete(resource: dict[str, Any], kind: str, n: int) -> dict[str, Any]:
    resource = dict(resource)
    resource.setdefault("resourceType", kind)
    rtype = resource["resourceType"]
    resource.setdefault("id", f"{rtype.lower()}-{n}")
    if rtype in _DEFAULT_STATUS:
        resource.setdefault("status", _DEFAULT_STATUS[rtype])
    if rtype == "MedicationRequest":
        resource.setdefault("intent", "order")
    if rtype != "Patient":
        resource.setdefault("subject", {"reference": f"Patient/{PATIENT_ID}"})
    return resource


def load(path: Path) -> Scenario:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    now_value = raw["now"]
    now = now_value if isinstance(now_value, datetime) else datetime.fromisoformat(str(now_value))
    raw = _resolve_dates(raw, now)
    patient = {"resourceType": "Patient", "id": PATIENT_ID, **(raw.get("patient") or {})}
    by_key: dict[str, list[dict[str, Any]]] = {key: [] for key in _PREFETCH_KEY.values()}
    for list_name, kind in _LISTS.items():
        for n, resource in enumerate(raw.get(list_name) or []):
            full = _complete(resource, kind, n)
            by_key[_PREFETCH_KEY[full["resourceType"]]].append(full)
    prefetch: dict[str, Any] = {"patient": patient}
    for key, resources in by_key.items():
        if key != "patient":
            prefetch[key] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in resources],
            }
    hook = raw["hook"]
    context: dict[str, Any] = {"userId": "Practitioner/u1", "patientId": PATIENT_ID}
    if hook in ("order-select", "order-sign"):
        drafts = []
        for n, resource in enumerate(raw.get("drafts") or []):
            draft = _complete({"status": "draft", **resource}, "MedicationRequest", n)
            drafts.append(draft)
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts],
        }
        if hook == "order-select":
            context["selections"] = raw.get("selections") or [
                f"{d['resourceType']}/{d['id']}" for d in drafts
            ]
    request = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch,
    }
    return Scenario(
        path=path,
        title=raw.get("title", path.stem),
        now=now,
        hook=hook,
        language=raw.get("language", "en"),
        request=request,
        expect={str(k): str(v) for k, v in (raw.get("expect") or {}).items()},
        absent=[str(t) for t in raw.get("absent") or []],
        only=bool(raw.get("only", False)),
        reminders={str(k): date.fromisoformat(str(v)[:10]) for k, v in (raw.get("reminders") or {}).items()},
        detail_contains={str(k): list(v) for k, v in (raw.get("detail_contains") or {}).items()},
        suggestions={str(k): int(v) for k, v in (raw.get("suggestions") or {}).items()},
        settings=dict(raw.get("settings") or {}),
        no_reminders=bool(raw.get("no_reminders", False)),
    )
