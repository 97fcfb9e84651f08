"""Evaluation-level exclusions (rules.md "Exclusions (r3)"): under 18, palliative or hospice care."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.cards import render
from service.kernel.findings import Finding, Indicator, Order, Proposal, Topic
from service.kernel.record import ConditionFact, Lab, PatientRecord, Problem, Sex
from service.rules import PALLIATIVE_VIEW_TOPICS, Evaluation, Moment, _for_goals_of_care, evaluate
from tests.builders import NOW, ago, born_years_ago, condition, draft, lab, patient, record
from tests.builders import medication as med
from tests.service.rules._drug_records import CALCIUM, ORAL_BP, SETTINGS, TZD, osteoporosis, t2dm


def chart(
    birth: date | None = date(1950, 6, 1), *extra: ConditionFact, drafts: bool = False
) -> PatientRecord:
    """A chart that fires cards of many topics at patient-view, and a monitoring reminder.

    An active alendronate with eGFR 20 (bisphosphonate-renal-contraindication, monitoring-overdue), a
    calcium supplement with calcium 2.80 (hypercalcemia-on-therapy), an active TZD with osteoporosis
    (tzd-fracture-risk), T2DM and osteoporosis (fall-risk-assessment-due).
    """
    return record(
        who=patient(Sex.FEMALE, birth),
        conditions=[t2dm(), osteoporosis(), *extra],
        labs=[lab(Lab.EGFR, 20, 10), lab(Lab.CALCIUM, 2.80, 10)],
        meds=[med(ORAL_BP, 300, name="Fosamax"), med(CALCIUM, 100), med(TZD, 200)],
        drafts=[draft(ORAL_BP), draft(TZD, id="d2")] if drafts else [],
    )


def topics(evaluation: Evaluation) -> set[str]:
    return {f.topic.value for f in evaluation.cards}


def test_the_chart_fires_many_topics_and_a_reminder_for_an_adult() -> None:
    ev = evaluate(chart(), NOW, SETTINGS, Moment.VIEW)
    assert {
        "bisphosphonate-renal-contraindication",
        "hypercalcemia-on-therapy",
        "tzd-fracture-risk",
        "monitoring-overdue",
        "fall-risk-assessment-due",
    } <= topics(ev)
    assert ev.reminders and not any(f.goals_of_care for f in ev.cards)


# --- under 18 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_after", "excluded"), [(0, False), (1, True)])
def test_under_18_no_patient_view_card_and_no_reminder(days_after: int, excluded: bool) -> None:
    ev = evaluate(chart(born_years_ago(18, days_after=days_after)), NOW, SETTINGS, Moment.VIEW)
    assert (ev == Evaluation((), ())) is excluded


def test_under_18_the_order_time_rules_still_fire_but_no_reminder() -> None:
    ev = evaluate(chart(born_years_ago(17), drafts=True), NOW, SETTINGS, Moment.ORDER)
    assert {"bisphosphonate-renal-contraindication", "tzd-fracture-risk"} <= topics(ev)
    assert ev.reminders == ()
    adult = evaluate(chart(born_years_ago(18), drafts=True), NOW, SETTINGS, Moment.ORDER)
    assert adult.reminders  # the time-bound rules still schedule for an adult at order time


def test_an_unknown_birth_date_is_an_adult() -> None:
    assert evaluate(chart(None), NOW, SETTINGS, Moment.VIEW).cards


# --- palliative or hospice care --------------------------------------------------------------------

PALLIATIVE = condition(Problem.PALLIATIVE_CARE, onset=date(2026, 10, 1))


def test_palliative_care_only_the_acute_harm_cards_with_no_suggestions_and_no_reminder() -> None:
    ev = evaluate(chart(date(1950, 6, 1), PALLIATIVE), NOW, SETTINGS, Moment.VIEW)
    assert topics(ev) == {"bisphosphonate-renal-contraindication", "hypercalcemia-on-therapy"}
    assert ev.reminders == ()
    for f in ev.cards:
        assert f.goals_of_care
        assert (f.lab_orders, f.service_orders, f.proposals, f.delete_drafts) == ((), (), (), ())


def test_the_palliative_topics_name_the_hypocalcaemia_topic_to_come() -> None:
    assert {
        "bisphosphonate-renal-contraindication",
        "hypocalcemia-on-antiresorptive",
        "hypercalcemia-on-therapy",
    } == PALLIATIVE_VIEW_TOPICS


def test_palliative_care_order_time_rules_fire_as_usual() -> None:
    ev = evaluate(chart(date(1950, 6, 1), PALLIATIVE, drafts=True), NOW, SETTINGS, Moment.ORDER)
    assert {"bisphosphonate-renal-contraindication", "tzd-fracture-risk"} <= topics(ev)
    contraindication = next(f for f in ev.cards if f.topic is Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION)
    assert contraindication.delete_drafts and not contraindication.goals_of_care
    assert ev.reminders == ()


@pytest.mark.parametrize(("days", "palliative"), [(92, True), (93, False)])
def test_a_palliative_care_procedure_counts_for_92_days(days: int, palliative: bool) -> None:
    procedure = ConditionFact(
        Problem.PALLIATIVE_CARE, True, ago(days).date(), "Procedure/p", from_procedure=True
    )
    ev = evaluate(chart(date(1950, 6, 1), procedure), NOW, SETTINGS, Moment.VIEW)
    assert ("tzd-fracture-risk" not in topics(ev)) is palliative
    assert (ev.reminders == ()) is palliative


def test_a_palliative_card_loses_every_suggestion() -> None:
    finding: Finding = Finding(
        Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION,
        Indicator.CRITICAL,
        delete_drafts=("MedicationRequest/d1",),
        lab_orders=(Lab.CALCIUM,),
        service_orders=(Order.DXA,),
        proposals=(Proposal.ZOLEDRONIC_ACID_5MG_IV,),
    )
    stripped = _for_goals_of_care(finding)
    assert (stripped.delete_drafts, stripped.lab_orders, stripped.service_orders, stripped.proposals) == (
        (),
        (),
        (),
        (),
    )
    assert (
        stripped.goals_of_care and stripped.topic is finding.topic and stripped.indicator is finding.indicator
    )


@pytest.mark.parametrize(
    ("language", "line"),
    [("en", "Weigh treatment against the goals of care."), ("zh", "请结合照护目标权衡治疗。")],
)
def test_the_card_says_weigh_treatment_against_the_goals_of_care(language: str, line: str) -> None:
    rec = chart(date(1950, 6, 1), PALLIATIVE)
    [finding] = [
        f
        for f in evaluate(rec, NOW, SETTINGS, Moment.VIEW).cards
        if f.topic is Topic.HYPERCALCEMIA_ON_THERAPY
    ]
    card = render(finding, rec, NOW, language).to_json()
    assert line in card["detail"]
    assert card["detail"].index(line) < card["detail"].index("Zuo" if language == "en" else "左梓旭")
    plain = render(replace(finding, goals_of_care=False), rec, NOW, language).to_json()
    assert line not in plain["detail"]


def test_deceased_still_wins() -> None:
    rec = chart()
    dead = replace(rec, patient=replace(rec.patient, deceased=True))
    assert evaluate(dead, NOW, SETTINGS, Moment.VIEW) == Evaluation((), ())
