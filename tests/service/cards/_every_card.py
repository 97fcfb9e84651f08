"""Every card the library's charts produce, rendered in each language without the web layer.

The charts are the scenarios (tests/scenarios), the worked cases of rules.md (tests/fixtures/worked_cases)
and the examples (examples/*.json): each goes through the mapping, the rules and the answer's assembly
at its own clock and with its own settings, at patient view with the card budget as the app applies it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from cds_hooks.models import Card
from mappings import build_record
from service.cards._text import LANGUAGES
from service.cards.answer import cards_for, in_order
from service.cds_services import ALLERGIES
from service.evaluation import evaluate_record
from service.rules import Moment
from service.settings import Settings
from tests.scenarios._scenario import load

REPO = Path(__file__).resolve().parents[3]
_SCENARIOS = REPO / "tests" / "scenarios"
_WORKED = REPO / "tests" / "fixtures" / "worked_cases" / "cases.json"
_EXAMPLES = REPO / "examples"
_EXAMPLES_AT = datetime.fromisoformat("2026-11-27T09:00:00+00:00")  # examples/_generate.py's AS_OF


@dataclass(frozen=True, slots=True)
class Chart:
    """One hook request of the library, with the clock and settings it is answered at."""

    name: str
    request: Mapping[str, Any]
    now: datetime
    settings: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Rendered:
    chart: str
    language: str
    card: Card


def _resources(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [e["resource"] for e in value.get("entry") or [] if isinstance(e.get("resource"), dict)]
    return [value]


def _drafts(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    """As service.cds_services.draft_resources: the selections at order-select, every draft at order-sign."""
    if request["hook"] == "patient-view":
        return []
    context = request.get("context") or {}
    drafts = _resources(context.get("draftOrders"))
    if request["hook"] == "order-select":
        chosen = set(context.get("selections") or [])
        drafts = [
            d
            for d in drafts
            if d["resourceType"] == "Medication" or f"{d['resourceType']}/{d['id']}" in chosen
        ]
    return drafts


def charts() -> Iterator[Chart]:
    for path in sorted(_SCENARIOS.rglob("*.yaml")):
        scenario = load(path)
        name = str(path.relative_to(_SCENARIOS))
        yield Chart(name, scenario.request, scenario.now, scenario.settings)
    from tests.test_worked_cases import DOC, NOW, _request

    for case in DOC["cases"]:
        yield Chart(f"worked case {case['id']}", _request(case), NOW, {})
    for path in sorted(_EXAMPLES.glob("*.json")):
        if not path.name.endswith(".cards.json"):
            yield Chart(f"example {path.stem}", json.loads(path.read_text()), _EXAMPLES_AT, {})


def answer(chart: Chart, language: str) -> list[Card]:
    """The cards the app would answer, as :meth:`service.app` words them (no base URL)."""
    request = chart.request
    prefetch: Mapping[str, Any] = request.get("prefetch") or {}
    resources = [r for value in prefetch.values() for r in _resources(value)]
    patient = str(request["context"]["patientId"]).removeprefix("Patient/")
    record = build_record(patient, resources, _drafts(request), allergies_known=ALLERGIES in prefetch)
    settings = _settings(json.dumps(chart.settings, sort_keys=True, default=str))
    moment = Moment.VIEW if request["hook"] == "patient-view" else Moment.ORDER
    findings = in_order(evaluate_record(record, chart.now, settings, moment).cards)
    budget = settings.rules.card_budget if moment is Moment.VIEW else None
    return cards_for(findings, record, chart.now, language, base_url="http://cds.example", budget=budget)


@cache
def _settings(overrides: str) -> Settings:
    return Settings(auth_enabled=False, **json.loads(overrides))


def every_card() -> list[Rendered]:
    return [
        Rendered(chart.name, language, card)
        for chart in charts()
        for language in LANGUAGES
        for card in answer(chart, language)
    ]
