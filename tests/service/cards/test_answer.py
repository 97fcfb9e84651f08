"""An answer's cards: the budget and its folded card, and each test offered once (rules.md r3)."""

from __future__ import annotations

from typing import Any

import pytest

from service.cards.answer import MORE_FINDINGS, arrange, cards_for, in_order, offer_each_test_once
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import Lab, Patient, PatientRecord
from tests.conftest import NOW

RECORD = PatientRecord(Patient("p1"))
WARNING_TOPICS = [Topic.MONITORING_OVERDUE, Topic.DENOSUMAB_DOSE_DUE, Topic.TZD_FRACTURE_RISK]
INFO_TOPICS = [
    Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE,
    Topic.FALL_RISK_ASSESSMENT_DUE,
    Topic.OBESITY_BONE_ASSESSMENT,
    Topic.VITAMIN_D_DEFICIENCY,
    Topic.SGLT2_FRACTURE_CAUTION,
]


def findings(urgent: int, info: int) -> list[Finding[Any]]:
    return [Finding(t, Indicator.WARNING) for t in WARNING_TOPICS[:urgent]] + [
        Finding(t, Indicator.INFO) for t in INFO_TOPICS[:info]
    ]


@pytest.mark.parametrize(
    ("urgent", "info", "shown", "folded"),
    [
        (0, 4, 4, 0),  # within the budget: all stand
        (2, 2, 4, 0),
        (0, 5, 3, 2),  # K + I = 5 > 4: max(0, 4 - 0 - 1) = 3 info stand, 2 fold
        (2, 3, 3, 2),  # 2 urgent + 1 info stand, 2 fold
        (3, 2, 3, 2),  # max(0, 4 - 3 - 1) = 0 info stand
        (3, 5, 3, 5),
        (3, 1, 4, 0),  # K + I = 4 = budget
        (1, 4, 3, 2),
    ],
)
def test_the_budget_folds_info_cards_beyond_it(urgent: int, info: int, shown: int, folded: int) -> None:
    result = arrange(findings(urgent, info), budget=4)
    assert (len(result.shown), len(result.folded)) == (shown, folded)
    assert all(f.indicator is Indicator.INFO for f in result.folded)
    urgent_kept = [f for f in result.shown if f.indicator is not Indicator.INFO]
    assert len(urgent_kept) == urgent  # critical and warning cards never fold


def test_a_lone_info_card_is_never_folded() -> None:
    many_urgent = [Finding(t, Indicator.WARNING) for t in WARNING_TOPICS] + [
        Finding(Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING),
        Finding(Topic.FALL_RISK_ASSESSMENT_DUE, Indicator.INFO),
    ]
    result = arrange(many_urgent, budget=4)
    assert result.folded == ()
    assert len(result.shown) == 5


def test_order_time_answers_are_not_folded() -> None:
    assert arrange(findings(3, 5), budget=None).folded == ()


def test_cards_stand_most_urgent_first_then_in_the_specifications_order() -> None:
    mixed = [
        Finding(Topic.VITAMIN_D_DEFICIENCY, Indicator.INFO),
        Finding(Topic.FALL_RISK_ASSESSMENT_DUE, Indicator.INFO),
        Finding(Topic.MONITORING_OVERDUE, Indicator.WARNING),
        Finding(Topic.DENOSUMAB_SEQUENCING_MISSING, Indicator.CRITICAL),
    ]
    assert [f.topic for f in in_order(mixed)] == [
        Topic.DENOSUMAB_SEQUENCING_MISSING,
        Topic.MONITORING_OVERDUE,
        Topic.FALL_RISK_ASSESSMENT_DUE,
        Topic.VITAMIN_D_DEFICIENCY,
    ]


def test_a_test_is_offered_by_the_most_urgent_card_only() -> None:
    shown = [
        Finding(Topic.MONITORING_OVERDUE, Indicator.WARNING, lab_orders=(Lab.CALCIUM, Lab.EGFR)),
        Finding(Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING, Indicator.WARNING, lab_orders=(Lab.CALCIUM,)),
        Finding(Topic.VITAMIN_D_DEFICIENCY, Indicator.INFO, lab_orders=(Lab.CREATININE, Lab.VITAMIN_D)),
    ]
    kept, elsewhere = offer_each_test_once(shown)
    assert [f.lab_orders for f in kept] == [(Lab.CALCIUM, Lab.EGFR), (), (Lab.VITAMIN_D,)]
    assert elsewhere == {1: [Lab.CALCIUM], 2: [Lab.CREATININE]}  # creatinine and eGFR are one order


def test_the_folded_card_lists_each_finding_with_its_page_and_the_tests_it_would_offer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cds_hooks.models import Card, Coding, Source
    from service.cards import answer

    def fake_render(finding: Finding[Any], *args: object, **kwargs: object) -> Card:
        return Card(summary=f"summary of {finding.topic.value}", indicator="info", source=Source(label="x"))

    monkeypatch.setattr(answer, "render", fake_render)
    folded = [
        Finding(Topic.OBESITY_BONE_ASSESSMENT, Indicator.INFO),
        Finding(Topic.VITAMIN_D_DEFICIENCY, Indicator.INFO, lab_orders=(Lab.VITAMIN_D,)),
    ]
    urgent = [Finding(t, Indicator.WARNING) for t in WARNING_TOPICS]
    cards = cards_for(urgent + folded, RECORD, NOW, "en", base_url="https://cds.example", budget=4)
    assert len(cards) == 4
    more = cards[-1].to_json()
    assert more["summary"] == "More bone-health findings (2)"
    assert more["indicator"] == "info"
    assert (
        more["source"]["topic"]
        == Coding(
            system="urn:bone-health-cds:rule", code=MORE_FINDINGS, display="More bone-health findings"
        ).to_json()
    )
    assert "summary of obesity-bone-assessment" in more["detail"]
    assert "https://cds.example/rules/vitamin-d-deficiency" in more["detail"]
    assert "25-OH vitamin D" in more["detail"] or "vitamin D" in more["detail"]
    assert "suggestions" not in more
    assert more["links"][0]["url"] == "https://cds.example/rules"
    assert len(more["overrideReasons"]) == 5
    zh = cards_for(urgent + folded, RECORD, NOW, "zh", base_url="https://cds.example", budget=4)[-1]
    assert zh.summary == "更多骨健康提示（2条）"


def test_the_complex_patient_gets_the_budget_and_no_test_twice(app_factory: Any) -> None:
    """The chart of the clinical review (a scenario of the library) through the real app."""
    from tests.conftest import REPO
    from tests.scenarios._scenario import load

    scenario = load(REPO / "tests" / "scenarios" / "combinations" / "complex_patient_card_budget.yaml")
    client = app_factory(now=scenario.now)
    for language in ("en", "zh"):
        response = client.post(
            "/cds-services/bone-health-patient-view",
            json=scenario.request,
            headers={"Accept-Language": language},
        )
        cards = response.json()["cards"]
        urgent = [c for c in cards if c["indicator"] != "info"]
        info = [c for c in cards if c["indicator"] == "info"]
        budget = 4
        assert len(info) <= max(0, budget - len(urgent) - 1) + 1, [c["summary"] for c in cards]
        assert cards[-1]["source"]["topic"]["code"] == MORE_FINDINGS
        offered = [
            (coding["system"], coding["code"])
            for card in cards
            for suggestion in card.get("suggestions", [])
            for action in suggestion["actions"]
            if action["type"] == "create" and action["resource"]["resourceType"] == "ServiceRequest"
            for coding in action["resource"]["code"]["coding"]
        ]
        assert len(offered) == len(set(offered)), offered
