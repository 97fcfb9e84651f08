"""Order-time drug safety (r3): oral-bisphosphonate-unsuitable and bone-drug-in-pregnancy, each window and
exclusion on both sides; the pregnancy card is the only card about its draft."""

from __future__ import annotations

import pytest

from service.kernel.clinical import DrugOrders, WithholdReason
from service.kernel.findings import Finding, Indicator, Proposal, Topic
from service.kernel.record import ConditionFact, DrugClass, Lab, PatientRecord, Problem, Sex
from service.rules import Moment, evaluate
from service.rules.drug_safety import (
    bone_drug_in_pregnancy,
    guard_tests,
    only_pregnancy_card,
    oral_bisphosphonate_unsuitable,
)
from tests.builders import NOW, condition, days_ago, draft, lab, patient, record
from tests.service.rules._drug_records import DENOSUMAB, ORAL_BP, SETTINGS, TZD, ZOLEDRONIC

ZA = Proposal.ZOLEDRONIC_ACID_5MG_IV
READY = [lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.40, 10), lab(Lab.VITAMIN_D, 30, 10)]
BED_BOUND = condition(Problem.BED_BOUND, onset=days_ago(100))
GERD = condition(Problem.OESOPHAGEAL_DISORDER, onset=days_ago(100), display="Reflux oesophagitis")
ALENDRONATE = draft(ORAL_BP, name="Fosamax 70 mg")

# --- oral-bisphosphonate-unsuitable ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "fires"),
    [
        ([BED_BOUND], True),
        ([GERD], True),
        ([condition(Problem.OESOPHAGEAL_DISORDER, onset=days_ago(900), active=False)], False),
        ([condition(Problem.BED_BOUND, active=False)], False),
        ([], False),
    ],
)
def test_oral_bisphosphonate_is_unsuitable_when_bed_bound_or_with_an_active_oesophageal_disorder(
    conditions: list[ConditionFact], fires: bool
) -> None:
    rec = record(conditions=conditions, labs=READY, drafts=[ALENDRONATE])
    finding = oral_bisphosphonate_unsuitable(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.topic is Topic.ORAL_BISPHOSPHONATE_UNSUITABLE
        assert finding.indicator is Indicator.WARNING
        assert finding.facts.orders == DrugOrders(("Fosamax 70 mg",))


def test_an_intravenous_bisphosphonate_is_not_an_oral_one() -> None:
    rec = record(BED_BOUND, labs=READY, drafts=[draft(ZOLEDRONIC, name="Aclasta")])
    assert oral_bisphosphonate_unsuitable(rec, NOW, SETTINGS) is None


def test_the_draft_is_replaced_by_zoledronic_acid_in_one_suggestion() -> None:
    finding = oral_bisphosphonate_unsuitable(
        record(BED_BOUND, labs=READY, drafts=[ALENDRONATE]), NOW, SETTINGS
    )
    assert finding is not None
    assert finding.delete_drafts == ("MedicationRequest/d1",)
    assert finding.proposals == (ZA,) and finding.replace_drafts
    assert finding.preparation == () and finding.lab_orders == ()
    assert finding.facts.bed_bound and finding.facts.oesophageal is None
    assert finding.facts.zoledronic_acid_offered


@pytest.mark.parametrize(("egfr_days", "creatinine"), [(30, False), (31, True), (365, True)])
def test_zoledronic_acid_without_a_renal_result_within_30_days_comes_with_a_creatinine(
    egfr_days: int, creatinine: bool
) -> None:
    labs = [lab(Lab.EGFR, 55, egfr_days), *READY[1:]]
    finding = oral_bisphosphonate_unsuitable(record(GERD, labs=labs, drafts=[ALENDRONATE]), NOW, SETTINGS)
    assert finding is not None and finding.proposals == (ZA,)
    assert finding.preparation == (((ZA, (Lab.CREATININE,)),) if creatinine else ())
    assert finding.facts.oesophageal == "Reflux oesophagitis"


def test_with_no_renal_function_the_card_deletes_and_offers_the_renal_test_only() -> None:
    finding = oral_bisphosphonate_unsuitable(
        record(BED_BOUND, labs=READY[1:], drafts=[ALENDRONATE]), NOW, SETTINGS
    )
    assert finding is not None
    assert finding.proposals == () and not finding.replace_drafts
    assert finding.delete_drafts == ("MedicationRequest/d1",)
    assert finding.lab_orders == (Lab.EGFR,)
    assert finding.facts.withheld == (WithholdReason.RENAL_UNKNOWN,)


def test_renal_function_below_35_withholds_zoledronic_acid_and_offers_no_test() -> None:
    labs = [lab(Lab.EGFR, 34, 10), *READY[1:]]
    finding = oral_bisphosphonate_unsuitable(
        record(BED_BOUND, labs=labs, drafts=[ALENDRONATE]), NOW, SETTINGS
    )
    assert finding is not None and finding.proposals == () and finding.lab_orders == ()
    assert finding.facts.withheld == (WithholdReason.RENAL_LOW,)


def test_hypocalcaemia_withholds_it_and_offers_the_missing_vitamin_d_test() -> None:
    labs = [lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.05, 5)]
    finding = oral_bisphosphonate_unsuitable(
        record(BED_BOUND, labs=labs, drafts=[ALENDRONATE]), NOW, SETTINGS
    )
    assert finding is not None and finding.proposals == ()
    assert finding.facts.withheld == (WithholdReason.HYPOCALCAEMIA,)
    assert finding.lab_orders == (Lab.VITAMIN_D,)


def test_guard_tests_follow_the_selection_rule() -> None:
    assert guard_tests((WithholdReason.RENAL_UNKNOWN, WithholdReason.HYPOCALCAEMIA), (Lab.CALCIUM,)) == (
        Lab.EGFR,
    )
    assert guard_tests((WithholdReason.VITAMIN_D_LOW,), (Lab.CREATININE, Lab.CALCIUM)) == (Lab.CALCIUM,)
    assert guard_tests((WithholdReason.VITAMIN_D_LOW, WithholdReason.ALLERGY), (Lab.CALCIUM,)) == ()
    assert guard_tests((), (Lab.CALCIUM,)) == ()


# --- bone-drug-in-pregnancy -----------------------------------------------------------------------


def pregnancy(days: int) -> ConditionFact:
    return condition(Problem.PREGNANCY, onset=days_ago(days))


@pytest.mark.parametrize(("days", "fires"), [(279, True), (280, True), (281, False)])
def test_a_pregnancy_condition_counts_for_280_days(days: int, fires: bool) -> None:
    rec = record(pregnancy(days), drafts=[ALENDRONATE])
    finding = bone_drug_in_pregnancy(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.indicator is Indicator.CRITICAL
        assert finding.delete_drafts == ("MedicationRequest/d1",)
        assert finding.facts.pregnant_since == days_ago(days)


@pytest.mark.parametrize(
    "classes",
    [
        ORAL_BP,
        ZOLEDRONIC,
        DENOSUMAB,
        {DrugClass.ANABOLIC},
        {DrugClass.ROMOSOZUMAB},
        {DrugClass.DENOSUMAB_ONCOLOGY},
        {DrugClass.ZOLEDRONIC_ACID_ONCOLOGY},
    ],
)
def test_every_bone_drug_is_guarded_in_pregnancy(classes: set[DrugClass]) -> None:
    rec = record(labs=[lab(Lab.HCG, 1.0, 12)], drafts=[draft(classes)])
    assert bone_drug_in_pregnancy(rec, NOW, SETTINGS) is not None


@pytest.mark.parametrize("classes", [{DrugClass.CALCIUM_SUPPLEMENT}, {DrugClass.NATIVE_VITAMIN_D}, TZD])
def test_other_drugs_are_not(classes: set[DrugClass]) -> None:
    rec = record(labs=[lab(Lab.HCG, 1.0, 12)], drafts=[draft(classes)])
    assert bone_drug_in_pregnancy(rec, NOW, SETTINGS) is None


def test_a_man_a_negative_test_after_or_a_delivery_after_is_no_pregnancy() -> None:
    positive = lab(Lab.HCG, 1.0, 30)
    assert bone_drug_in_pregnancy(record(labs=[positive], drafts=[ALENDRONATE]), NOW, SETTINGS) is not None
    man = record(who=patient(Sex.MALE), labs=[positive], drafts=[ALENDRONATE])
    assert bone_drug_in_pregnancy(man, NOW, SETTINGS) is None
    negative = record(labs=[positive, lab(Lab.HCG, 0.0, 29)], drafts=[ALENDRONATE])
    assert bone_drug_in_pregnancy(negative, NOW, SETTINGS) is None
    delivered = record(
        condition(Problem.PREGNANCY_OUTCOME, onset=days_ago(10)), labs=[positive], drafts=[ALENDRONATE]
    )
    assert bone_drug_in_pregnancy(delivered, NOW, SETTINGS) is None


# --- the only card about its draft ----------------------------------------------------------------


def _topics(rec: PatientRecord) -> set[Topic]:
    return {f.topic for f in evaluate(rec, NOW, SETTINGS, Moment.ORDER).cards}


def test_in_pregnancy_the_pregnancy_card_is_the_only_card_about_the_draft() -> None:
    # no renal function, bed-bound: without pregnancy three cards would speak of the alendronate draft
    rec = record(BED_BOUND, pregnancy(40), drafts=[ALENDRONATE])
    assert _topics(rec) == {Topic.BONE_DRUG_IN_PREGNANCY}
    not_pregnant = record(BED_BOUND, drafts=[ALENDRONATE])
    assert _topics(not_pregnant) == {
        Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN,
        Topic.ORAL_BISPHOSPHONATE_UNSUITABLE,
    }


def test_a_card_about_another_draft_stays() -> None:
    rec = record(
        pregnancy(40),
        condition(Problem.OSTEOPOROSIS, onset=days_ago(400)),
        drafts=[draft(ZOLEDRONIC, name="Aclasta", id="z"), draft(TZD, name="Actos", id="t")],
    )
    topics = _topics(rec)
    assert Topic.BONE_DRUG_IN_PREGNANCY in topics and Topic.TZD_FRACTURE_RISK in topics
    assert Topic.PRE_INFUSION_CALCIUM_CHECK not in topics
    assert Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN not in topics


def test_only_pregnancy_card_is_pure_and_trims_deletions_of_a_mixed_finding() -> None:
    rec = record(drafts=[draft(ORAL_BP, id="a"), draft(TZD, id="t")])
    pregnancy_finding: Finding = Finding(
        Topic.BONE_DRUG_IN_PREGNANCY, Indicator.CRITICAL, delete_drafts=("MedicationRequest/a",)
    )
    mixed: Finding = Finding(
        Topic.TZD_FRACTURE_RISK,
        Indicator.WARNING,
        delete_drafts=("MedicationRequest/a", "MedicationRequest/t"),
    )
    about_a: Finding = Finding(
        Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING, delete_drafts=("MedicationRequest/a",)
    )
    findings = (mixed, about_a, pregnancy_finding)
    kept = only_pregnancy_card(findings, rec)
    assert [f.topic for f in kept] == [Topic.TZD_FRACTURE_RISK, Topic.BONE_DRUG_IN_PREGNANCY]
    assert kept[0].delete_drafts == ("MedicationRequest/t",)
    assert findings == (mixed, about_a, pregnancy_finding)  # the input is untouched
    assert only_pregnancy_card((mixed, about_a), rec) == (mixed, about_a)


def test_the_window_is_a_setting() -> None:
    rec = record(pregnancy(250), drafts=[ALENDRONATE])
    short = SETTINGS.model_copy(update={"pregnancy_window_days": 240})
    assert bone_drug_in_pregnancy(rec, NOW, short) is None
    assert bone_drug_in_pregnancy(rec, NOW, SETTINGS) is not None
