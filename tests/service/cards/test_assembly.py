"""Card assembly: the same source, citation, override reasons and suggestion rules for every topic."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date

from fastapi.testclient import TestClient
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from service.cards import _selection_behavior, _suggest, render, wording
from service.kernel.clinical import DrugOrders
from service.kernel.facts.diabetes_drugs import TzdFacts
from service.kernel.findings import TOPIC_SYSTEM, Finding, Indicator, Proposal, Topic
from service.kernel.record import (
    DrugClass,
    Lab,
    Patient,
    PatientRecord,
)
from tests.builders import NOW, draft, patient, record
from tests.conftest import REPO

RECORD = record(
    who=patient(birth=date(1950, 1, 1)),
    drafts=(
        draft({DrugClass.TZD}, name="pioglitazone 30 MG", id="d1", at=NOW, active=True),
        draft({DrugClass.TZD}, name="pioglitazone / metformin", id="d2", at=NOW, active=True),
    ),
)


def test_every_topic_has_wording() -> None:
    assert set(wording()) == set(Topic)


def test_two_risky_drafts_are_removed_by_one_suggestion() -> None:
    finding = Finding(
        Topic.TZD_FRACTURE_RISK,
        Indicator.WARNING,
        TzdFacts(DrugOrders(("pioglitazone 30 MG", "pioglitazone / metformin")), None),
        delete_drafts=("MedicationRequest/d1", "MedicationRequest/d2"),
    )
    card = render(finding, RECORD, NOW).to_json()
    assert len(card["suggestions"]) == 1
    actions = card["suggestions"][0]["actions"]
    assert [action["type"] for action in actions] == ["delete", "delete"]
    assert [action["resourceId"] for action in actions] == ["MedicationRequest/d1", "MedicationRequest/d2"]
    assert card["selectionBehavior"] == "at-most-one"
    assert card["source"]["topic"]["system"] == TOPIC_SYSTEM
    assert card["overrideReasons"], "warning cards carry override reasons"
    assert card["uuid"] and card["suggestions"][0]["uuid"]


def test_lab_orders_are_valid_service_requests_chosen_freely() -> None:
    finding = Finding(Topic.MONITORING_OVERDUE, Indicator.WARNING, lab_orders=(Lab.CALCIUM, Lab.PTH))
    suggestions = [s.to_json() for s in _suggest(finding, PatientRecord(Patient("p1")), NOW, "en")]
    assert _selection_behavior(finding) == "any"
    codes = []
    for suggestion in suggestions:
        resource = suggestion["actions"][0]["resource"]
        ServiceRequest.model_validate(resource)
        assert resource["subject"] == {"reference": "Patient/p1"}
        assert resource["status"] == "draft"
        codes.append(resource["code"]["coding"][0]["code"])
    assert codes == ["2000-8", "2731-8"]


def test_medication_proposals_start_on_the_given_day() -> None:
    finding = Finding(
        Topic.DENOSUMAB_SEQUENCING_MISSING,
        Indicator.CRITICAL,
        proposals=(Proposal.ZOLEDRONIC_ACID_5MG_IV, Proposal.ALENDRONATE_70MG_WEEKLY),
        proposal_start=date(2027, 2, 18),
    )
    assert _selection_behavior(finding) == "at-most-one"
    suggestions = [s.to_json() for s in _suggest(finding, PatientRecord(Patient("p1")), NOW, "zh")]
    assert [
        s["actions"][0]["resource"]["medicationCodeableConcept"]["coding"][0]["code"] for s in suggestions
    ] == [
        "705824",
        "904431",
    ]
    for suggestion in suggestions:
        resource = suggestion["actions"][0]["resource"]
        MedicationRequest.model_validate(resource)
        bounds = resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]
        assert bounds["start"] == "2027-02-18"
        assert "2027-02-18" in suggestion["label"]


def test_a_card_names_its_source_links_the_doi_and_its_rule_page() -> None:
    finding = Finding(
        Topic.TZD_FRACTURE_RISK,
        Indicator.WARNING,
        TzdFacts(DrugOrders(("pioglitazone 30 MG",)), None),
    )
    card = render(finding, RECORD, NOW, "en", base_url="https://cds.example/bone").to_json()
    assert card["source"]["label"] == "Zuo & Yang 2025 · T2DM with osteoporosis, section 2.2"
    assert card["source"]["url"] == "https://doi.org/10.12208/j.ijcr.20250542"
    assert card["links"] == [
        {
            "label": "About this rule",
            "url": "https://cds.example/bone/rules/tzd-fracture-risk",
            "type": "absolute",
        }
    ]
    assert card["detail"].endswith("Source: Zuo & Yang 2025, section 2.2.")
    zh = render(finding, RECORD, NOW, "zh", base_url="https://cds.example/bone").to_json()
    assert zh["source"]["label"] == "左梓旭、杨斌 2025 · 2型糖尿病合并骨质疏松症的治疗进展，第2.2节"
    assert zh["links"][0]["label"] == "关于此规则"


def test_a_review_without_a_doi_links_the_rule_page_as_its_source() -> None:
    from service.cards._phrases import phrases
    from service.cards._text import SourceRef

    obesity = SourceRef("ob", ("1", "4"))
    assert phrases("en").source_url(obesity) is None
    assert (
        phrases("en").source_label(obesity)
        == "Review: Obesity and osteoporosis (肥胖与骨质疏松), sections 1, 4"
    )


def test_through_the_app_the_link_is_under_the_url_the_request_came_to(
    app_factory: Callable[..., TestClient],
) -> None:
    client = app_factory()
    body = json.loads((REPO / "examples" / "tzd-order-select.json").read_text())
    cards = client.post("/cds-services/bone-health-order-select", json=body).json()["cards"]
    assert cards
    for card in cards:
        topic = card["source"]["topic"]["code"]
        assert card["links"] == [
            {"label": "About this rule", "url": f"http://testserver/rules/{topic}", "type": "absolute"}
        ]


def test_the_public_base_url_setting_decides_the_link(app_factory: Callable[..., TestClient]) -> None:
    client = app_factory(public_base_url="https://ehr-gateway.example/bhcds/")
    body = json.loads((REPO / "examples" / "tzd-order-select.json").read_text())
    card = client.post("/cds-services/bone-health-order-select", json=body).json()["cards"][0]
    assert card["links"][0]["url"].startswith("https://ehr-gateway.example/bhcds/rules/")


def test_a_delete_with_tests_lets_the_clinician_take_any() -> None:
    """rules.md r3 "Selection": cards that offer only tests (or a delete with tests) use ``any``."""
    finding = Finding(
        Topic.PRE_INFUSION_CALCIUM_CHECK,
        Indicator.CRITICAL,
        delete_drafts=("MedicationRequest/d1",),
        lab_orders=(Lab.VITAMIN_D,),
    )
    assert _selection_behavior(finding) == "any"
    assert _selection_behavior(replace(finding, lab_orders=())) == "at-most-one"
