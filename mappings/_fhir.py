"""Tolerant readers of raw FHIR JSON: any shape may arrive, so every accessor checks types.

Used before validation (to decide cheaply whether a resource matters) and after it (to read values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from mappings._errors import MappingError

Resource = Mapping[str, Any]

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


@dataclass(frozen=True, slots=True)
class CodingView:
    system: str | None
    code: str | None
    display: str | None


def as_dict(value: object) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one.

    orjson only makes plain dicts: test for those first, as the Mapping ABC check costs far more.
    """
    if type(value) is dict:
        return value
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def codings(concept: object) -> list[CodingView]:
    """The Codings of a CodeableConcept, skipping malformed entries."""
    out = []
    for coding in as_list(as_dict(concept).get("coding")):
        if isinstance(coding, Mapping):
            out.append(
                CodingView(
                    as_str(coding.get("system")), as_str(coding.get("code")), as_str(coding.get("display"))
                )
            )
    return out


def concept_text(concept: object) -> str:
    """CodeableConcept.text and every Coding.display, for name matching."""
    parts = [as_str(as_dict(concept).get("text")) or ""]
    parts += [c.display or "" for c in codings(concept)]
    return " | ".join(p for p in parts if p)


def status_code(concept: object) -> str | None:
    """The code of a status CodeableConcept (Condition.clinicalStatus, verificationStatus)."""
    for coding in codings(concept):
        if coding.code:
            return coding.code
    return None


def parse_datetime(value: object) -> datetime:
    """A FHIR date, dateTime or instant as an aware UTC datetime (partial dates: start of the period).

    Raises ValueError when the value is not a FHIR date/time.
    """
    if not isinstance(value, str):
        raise ValueError("not a string")
    partial = _PARTIAL_DATE.match(value)
    if partial:
        year, month, day = partial.groups()
        return datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: object) -> date:
    return parse_datetime(value).date()


def first_time(resource: Resource, *fields: str) -> tuple[str, object] | None:
    """The first present time field: plain fields, or "<name>Period" whose start (else end) is read."""
    for name in fields:
        if name.endswith("Period"):
            period = as_dict(resource.get(name))
            for part in ("start", "end"):
                if period.get(part) is not None:
                    return f"{name}.{part}", period[part]
        elif resource.get(name) is not None:
            return name, resource[name]
    return None


def resource_time(resource: Resource, label: str, *fields: str, rtype: str | None = None) -> datetime | None:
    """The first of ``fields`` the resource has, as a datetime; a malformed one is a mapping error.

    ``rtype`` names the element read when it is not a resource (a Period: "MedicationStatement.effectivePeriod").
    """
    found = first_time(resource, *fields)
    if found is None:
        return None
    path, value = found
    try:
        return parse_datetime(value)
    except ValueError as exc:
        where = rtype or resource.get("resourceType")
        raise MappingError(label, f"{where}.{path}", "not a FHIR dateTime") from exc


def label(resource: Resource, position: int) -> str:
    """ "Observation/abc", or "Observation[3]" when the resource has no id (position in the input)."""
    rtype = as_str(resource.get("resourceType")) or "Resource"
    rid = resource.get("id")
    return f"{rtype}/{rid}" if isinstance(rid, str) and rid else f"{rtype}[{position}]"


def flatten(resources: Iterable[object]) -> Iterator[tuple[Resource, str | None]]:
    """Resources with their Bundle fullUrl (if any); Bundles of every type are opened, recursively."""
    for item in resources:
        yield from _flatten(item, None)


def _flatten(item: object, full_url: str | None) -> Iterator[tuple[Resource, str | None]]:
    if type(item) is not dict and not isinstance(item, Mapping):
        return
    if item.get("resourceType") == "Bundle":
        for entry in as_list(item.get("entry")):
            entry = as_dict(entry)
            yield from _flatten(entry.get("resource"), as_str(entry.get("fullUrl")))
        return
    yield item, full_url


def reference_target(reference: str) -> tuple[str | None, str | None]:
    """(type, id) of a literal reference: "Patient/1", ".../Patient/1/_history/2", "urn:uuid:x" -> (None, x)."""
    ref = reference.strip()
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        return None, ref.split(":", 2)[2]
    parts = [p for p in ref.split("?")[0].split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2], parts[-1]
    return None, parts[-1] if parts else None
