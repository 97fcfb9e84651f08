"""The application's own routes: metrics carry the reminder counts; drafts at order-select."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from cds_hooks.handler import HookCall
from service.cds_services import draft_resources
from tests.conftest import REPO
from tests.scenarios._scenario import load


def test_metrics_report_reminders_by_status_from_the_database(app_factory: Callable[..., TestClient]) -> None:
    scenario = load(REPO / "tests" / "scenarios" / "denosumab" / "dose-due-day-183.yaml")
    client = app_factory(now=scenario.now)
    assert client.post("/cds-services/bone-health-patient-view", json=scenario.request).status_code == 200
    text = client.get("/metrics").text
    pending = [line for line in text.splitlines() if line.startswith('bhcds_reminders{status="pending"}')]
    assert pending and float(pending[0].split()[-1]) >= 1
    assert 'bhcds_cards_total{service="bone-health-patient-view",topic="denosumab-dose-due"}' in text


def _call(hook: str, context: dict) -> HookCall:
    return HookCall(service_id="s", hook=hook, hook_instance="h", patient_id="p1", context=context, data={})


def test_order_select_reads_the_selected_orders_and_the_medications_they_name() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "MedicationRequest", "id": "a"}},
            {"resource": {"resourceType": "MedicationRequest", "id": "b"}},
            {"resource": {"resourceType": "Medication", "id": "m"}},
        ],
    }
    selected = draft_resources(
        _call("order-select", {"draftOrders": bundle, "selections": ["MedicationRequest/a"]})
    )
    assert [(r["resourceType"], r["id"]) for r in selected] == [
        ("MedicationRequest", "a"),
        ("Medication", "m"),
    ]
    signed = draft_resources(_call("order-sign", {"draftOrders": bundle}))
    assert len(signed) == 3
    assert draft_resources(_call("patient-view", {})) == []
