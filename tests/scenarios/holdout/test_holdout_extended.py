"""Hold-out scenarios that need request shapes the shared loader cannot write (extended/*.yml).

Real EHRs send resources the scenario format has no list for: a Medication bundled next to the
MedicationRequests of a prefetch (``_include``) or in ``context.draftOrders``, and a ``patientId`` written
as "Patient/p1". An extended scenario is an ordinary scenario (README.md in the parent folder) plus:

    context: {patientId: Patient/p1}          # merged into the request context
    prefetch_extra:                           # added as they are to a prefetch Bundle (search.mode include)
      medicationRequests: [{resourceType: Medication, id: forteo, ...}]
    drafts_extra: [{resourceType: Medication, id: m1, ...}]   # added as they are to context.draftOrders

The files end in .yml so that the shared runner (which reads *.yaml) does not run them without their extras;
this module runs them through the same assertions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.scenarios import _scenario
from tests.scenarios import test_scenarios as shared

HERE = Path(__file__).parent / "extended"
FILES = sorted(HERE.glob("*.yml"))


def load_extended(path: Path) -> _scenario.Scenario:
    """The shared scenario with the extended keys applied to its request."""
    scenario = _scenario.load(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    now = raw["now"] if isinstance(raw["now"], datetime) else datetime.fromisoformat(str(raw["now"]))
    raw = _scenario._resolve_dates(raw, now)
    request = scenario.request
    request["context"].update(raw.get("context") or {})
    for key, resources in (raw.get("prefetch_extra") or {}).items():
        bundle = request["prefetch"].setdefault(
            key, {"resourceType": "Bundle", "type": "searchset", "entry": []}
        )
        bundle["entry"] += [_entry(r, "include") for r in resources]
    drafts = request["context"].get("draftOrders")
    if drafts is not None:
        drafts["entry"] += [_entry(r, None) for r in raw.get("drafts_extra") or []]
    return scenario


def _entry(resource: dict[str, Any], mode: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "fullUrl": f"https://ehr.example.org/fhir/{resource['resourceType']}/{resource['id']}"
    }
    entry["resource"] = resource
    if mode:
        entry["search"] = {"mode": mode}
    return entry


def test_the_extended_library_is_not_empty() -> None:
    assert FILES


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_extended_scenario(
    path: Path, app_factory: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared, "load", load_extended)
    shared.test_scenario(path, app_factory)
