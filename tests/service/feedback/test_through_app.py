"""Feedback that acts, through the real application: override → quiet → the period ends → back.

The charts are the worked cases. Moving the clock, the test moves every date of the chart by as much,
so the clinical picture stays the same and only the feedback can explain a card's absence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.service.feedback.helpers import (
    CRITICAL_CAP_DAYS,
    QUIET_DAYS,
    REASONS,
    Service,
    changed_dose,
    first_case,
    service,
)
from tests.test_worked_cases import DOC, NOW

TOPICS = sorted({t for c in DOC["cases"] for t in c["expect"]} - {"more-findings"})
ORDER_HOOKS = ("order-select", "order-sign")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Service]:
    with service(tmp_path) as running:
        yield running


def test_every_topic_of_the_specification_is_covered() -> None:
    assert len(TOPICS) == 22


def _at(app: Service, days: float) -> None:
    app.clock.now = NOW + timedelta(days=days)


@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("topic", TOPICS)
def test_overriding_each_topic_with_each_reason(app: Service, topic: str, reason: str) -> None:
    case = first_case(topic)
    hook = case["hook"]
    card = app.call(case)[topic]
    app.override(hook, card, reason)

    if hook in ORDER_HOOKS:
        # the same unchanged draft: no alert loop, whatever the reason
        assert topic not in app.call(case)
        assert topic not in app.call(case, hook="order-sign")
        # a changed draft is a new decision
        assert topic in app.call(changed_dose(case))
        # the acknowledgement is of one ordering session: a day later the draft is asked about again
        _at(app, 1)
        assert topic in app.call(case, shift_days=1)
        return

    days = QUIET_DAYS[reason]
    if days is None:  # "benefit outweighs risk" sets no quiet period at patient view
        assert topic in app.call(case)
        assert app.suppressions(case["patientId"]) == []
        return
    if card["indicator"] == "critical":
        days = min(days, CRITICAL_CAP_DAYS)
    _at(app, 1)
    assert topic not in app.call(case, shift_days=1)
    _at(app, days - 0.001)
    assert topic not in app.call(case, shift_days=days)
    _at(app, days)
    back = app.call(case, shift_days=days)
    assert topic in back
    assert back[topic]["uuid"] != card["uuid"]


def test_a_critical_card_is_quiet_for_at_most_30_days(app: Service) -> None:
    case = next(c for c in DOC["cases"] if c["expect"].get("denosumab-sequencing-missing") == "critical")
    card = app.call(case)["denosumab-sequencing-missing"]
    app.override("patient-view", card, "not-applicable")  # 365 days for a warning or info card
    (quiet,) = app.suppressions(case["patientId"])
    assert datetime.fromisoformat(quiet["until"]) == NOW + timedelta(days=30)
    _at(app, 29.99)
    assert "denosumab-sequencing-missing" not in app.call(case, shift_days=30)
    _at(app, 30)
    assert "denosumab-sequencing-missing" in app.call(case, shift_days=30)


def test_the_card_returns_at_once_when_its_indicator_rises(tmp_path: Path) -> None:
    """denosumab-dose-due: a warning while the dose is due, critical once it is late (rules.md)."""
    case = next(c for c in DOC["cases"] if c["expect"].get("denosumab-dose-due") == "warning")
    with service(tmp_path, "fresh") as fresh:  # the same chart, never overridden: when does it rise?
        rises = next(d for d in range(1, 400) if _indicator(fresh, case, d) == "critical")
    assert rises < 365  # within the quiet period of "not applicable to this patient"
    with service(tmp_path, "overridden") as app:
        card = app.call(case)["denosumab-dose-due"]
        app.override("patient-view", card, "not-applicable")
        if rises > 1:
            _at(app, rises - 1)
            assert "denosumab-dose-due" not in app.call(case)  # the chart as it is: still a warning
        _at(app, rises)
        back = app.call(case)
        assert back["denosumab-dose-due"]["indicator"] == "critical"
        assert app.suppressions(case["patientId"]) == []  # overtaken, not merely skipped


def _indicator(app: Service, case: dict[str, Any], days: int) -> str | None:
    _at(app, days)
    card = app.call(case).get("denosumab-dose-due")
    return None if card is None else str(card["indicator"])


def test_remind_me_later_on_the_folded_card_quiets_each_folded_topic(app: Service) -> None:
    case = next(c for c in DOC["cases"] if "more-findings" in c["expect"])
    cards = app.call(case)
    standing = set(cards) - {"more-findings"}
    app.override("patient-view", cards["more-findings"], "remind-later")
    quiet = {s["topic"] for s in app.suppressions(case["patientId"])}
    assert quiet and not quiet & standing
    _at(app, 29.99)
    later = app.call(case, shift_days=30)
    assert set(later) == standing  # the folded findings are quiet; the urgent cards still stand
    _at(app, 30)
    assert "more-findings" in app.call(case, shift_days=30)


@pytest.mark.parametrize("reason", [r for r in REASONS if r != "remind-later"])
def test_other_reasons_on_the_folded_card_quiet_nothing(app: Service, reason: str) -> None:
    case = next(c for c in DOC["cases"] if "more-findings" in c["expect"])
    cards = app.call(case)
    app.override("patient-view", cards["more-findings"], reason)
    assert app.suppressions(case["patientId"]) == []
    _at(app, 1)
    assert set(app.call(case, shift_days=1)) == set(cards)


def test_accepted_suppresses_nothing(app: Service) -> None:
    case = first_case("vitamin-d-deficiency")
    card = app.call(case)["vitamin-d-deficiency"]
    item = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": NOW.isoformat()}
    assert (
        app.client.post(
            "/cds-services/bone-health-patient-view/feedback", json={"feedback": [item]}
        ).status_code
        == 200
    )
    assert "vitamin-d-deficiency" in app.call(case)


def test_feedback_for_an_unknown_card_is_stored_and_answered_200(app: Service) -> None:
    from sqlalchemy import select

    from service.persistence.models import Feedback

    item = {
        "card": "00000000-0000-4000-8000-000000000000",
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": "urn:bone-health-cds:override", "code": "remind-later"}},
        "outcomeTimestamp": NOW.isoformat(),
    }
    response = app.client.post("/cds-services/bone-health-patient-view/feedback", json={"feedback": [item]})
    assert response.status_code == 200
    with app.client.app.state.bone_health.sessions() as session:  # type: ignore[attr-defined]
        stored = session.execute(select(Feedback.card_uuid)).scalars().all()
    assert stored == [item["card"]]


def test_a_reason_is_read_by_its_code_not_its_display(app: Service) -> None:
    case = first_case("vitamin-d-deficiency")
    card = app.call(case)["vitamin-d-deficiency"]
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": "http://example.org/other", "code": "remind-later"}},
        "outcomeTimestamp": NOW.isoformat(),
    }
    app.client.post("/cds-services/bone-health-patient-view/feedback", json={"feedback": [item]})
    item["overrideReason"] = {"reason": {"display": "Remind me later"}}
    item["outcomeTimestamp"] = (NOW + timedelta(seconds=1)).isoformat()
    app.client.post("/cds-services/bone-health-patient-view/feedback", json={"feedback": [item]})
    assert "vitamin-d-deficiency" in app.call(case)


def test_deleting_a_suppression_brings_the_card_back(app: Service) -> None:
    case = first_case("vitamin-d-deficiency")
    card = app.call(case)["vitamin-d-deficiency"]
    app.override("patient-view", card, "patient-declined")
    (quiet,) = app.suppressions(f"Patient/{case['patientId']}")
    assert (quiet["topic"], quiet["reason"], quiet["kind"]) == (
        "vitamin-d-deficiency",
        "patient-declined",
        "quiet",
    )
    assert datetime.fromisoformat(quiet["until"]) == NOW + timedelta(days=183)
    assert "vitamin-d-deficiency" not in app.call(case)
    assert app.client.delete(f"/suppressions/{quiet['id']}").status_code == 204
    assert app.suppressions(case["patientId"]) == []
    assert "vitamin-d-deficiency" in app.call(case)


def test_suppressions_errors_are_operation_outcomes(app: Service) -> None:
    missing = app.client.get("/suppressions")
    assert missing.status_code == 400
    assert missing.json()["issue"][0]["expression"] == ["patient"]
    unknown = app.client.delete("/suppressions/424242")
    assert unknown.status_code == 404
    assert unknown.json()["resourceType"] == "OperationOutcome"
    assert app.client.delete("/suppressions/abc").status_code == 400
    assert app.client.delete(f"/suppressions/{10**30}").status_code == 404


def test_the_same_override_sent_twice_sets_one_suppression(app: Service) -> None:
    case = first_case("vitamin-d-deficiency")
    card = app.call(case)["vitamin-d-deficiency"]
    app.override("patient-view", card, "remind-later")
    app.override("patient-view", card, "remind-later")
    app.clock.now += timedelta(minutes=1)  # a second click, another timestamp: still one
    app.override("patient-view", card, "not-applicable")
    assert len(app.suppressions(case["patientId"])) == 1


# --- order-select, then order-sign --------------------------------------------------------------


def test_order_sign_does_not_repeat_a_warning_shown_at_order_select(app: Service) -> None:
    case = next(
        c
        for c in DOC["cases"]
        if c["hook"] == "order-select" and any(v != "critical" for v in c["expect"].values())
    )
    topic = next(t for t, v in case["expect"].items() if v != "critical")
    assert topic in app.call(case)
    assert topic not in app.call(case, hook="order-sign")
    assert topic in app.call(changed_dose(case), hook="order-sign")  # a changed draft is new


def test_the_repeat_filter_can_be_turned_off(tmp_path: Path) -> None:
    case = next(c for c in DOC["cases"] if c["hook"] == "order-select")
    topic = next(iter(case["expect"]))
    with service(tmp_path, order_sign_repeat_filter=False) as app:
        assert topic in app.call(case)
        assert topic in app.call(case, hook="order-sign")


def test_the_repeat_filter_forgets_after_24_hours(app: Service) -> None:
    case = next(c for c in DOC["cases"] if c["hook"] == "order-select")
    topic = next(iter(case["expect"]))
    app.call(case)
    app.clock.now = NOW + timedelta(hours=23, minutes=59)
    assert topic not in app.call(case, hook="order-sign")
    app.clock.now = NOW + timedelta(hours=24, seconds=1)
    assert topic in app.call(case, hook="order-sign")


def test_a_critical_card_shown_at_order_select_stands_at_order_sign(app: Service) -> None:
    case = next(c for c in DOC["cases"] if c["hook"] == "order-sign" and "critical" in c["expect"].values())
    topic = next(t for t, v in case["expect"].items() if v == "critical")
    assert app.call(case, hook="order-select")[topic]["indicator"] == "critical"
    assert app.call(case, hook="order-sign")[topic]["indicator"] == "critical"


def test_a_critical_card_overridden_at_order_select_does_not_return_at_order_sign(app: Service) -> None:
    case = next(c for c in DOC["cases"] if c["hook"] == "order-sign" and "critical" in c["expect"].values())
    topic = next(t for t, v in case["expect"].items() if v == "critical")
    card = app.call(case, hook="order-select")[topic]
    app.override("order-select", card, "benefit-outweighs-risk")
    assert topic not in app.call(case, hook="order-sign")
    assert topic in app.call(changed_dose(case), hook="order-sign")


def test_a_new_draft_of_the_same_drug_is_a_new_decision(app: Service) -> None:
    case = first_case("tzd-fracture-risk")
    card = app.call(case)["tzd-fracture-risk"]
    app.override(case["hook"], card, "benefit-outweighs-risk")
    renamed = {**case, "draftOrders": [{**d, "id": f"{d['id']}-new"} for d in case["draftOrders"]]}
    assert "tzd-fracture-risk" in app.call(renamed)


def test_a_browser_on_another_origin_may_lift_a_suppression(app: Service) -> None:
    preflight = app.client.options(
        "/suppressions/1",
        headers={
            "Origin": "https://ehr.example.org",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert 200 <= preflight.status_code < 300
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
