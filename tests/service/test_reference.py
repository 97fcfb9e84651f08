"""The rule reference is generated from the code, and the committed copy is what the code says."""

from __future__ import annotations

from pathlib import Path

from service.kernel.findings import Topic
from service.kernel.thresholds import PopulationProfile
from service.reference import build, rule_reference
from service.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "rule-reference.md"


PRODUCT_LABELS = "The product labels (prescribing information)"


def test_every_topic_has_hooks_an_indicator_a_trigger_and_a_citation() -> None:
    refs = {r.topic: r for r in build(Settings())}
    assert set(refs) == set(Topic)
    for ref in refs.values():
        assert ref.hooks and ref.indicators and ref.triggers and ref.citations, ref.topic
        # a review section, or (r3) the product labels for a label safety guard that is not in the reviews
        assert all("section" in c or c == PRODUCT_LABELS for c in ref.citations), ref.topic
    assert refs[Topic.BONE_DRUG_IN_PREGNANCY].citations == (PRODUCT_LABELS,)


def test_thresholds_show_their_current_values() -> None:
    refs = {r.topic: r for r in build(Settings())}
    assert (
        refs[Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION].settings["bisphosphonate_min_renal_function"]
        == 35.0
    )
    changed = Settings(rules={"bisphosphonate_min_renal_function": 30})
    refs = {r.topic: r for r in build(changed)}
    assert (
        refs[Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION].settings["bisphosphonate_min_renal_function"] == 30
    )
    who = {r.topic: r for r in build(Settings(population_profile=PopulationProfile.WHO))}
    assert who[Topic.OBESITY_BONE_ASSESSMENT].settings["population_profile"] == "who"


def test_value_sets_are_the_files_behind_the_concepts_a_rule_reads() -> None:
    refs = {r.topic: r for r in build(Settings())}
    assert "tzd" in refs[Topic.TZD_FRACTURE_RISK].value_sets
    assert "denosumab" in refs[Topic.DENOSUMAB_SEQUENCING_MISSING].value_sets
    assert "bisphosphonate" in refs[Topic.DENOSUMAB_SEQUENCING_MISSING].value_sets
    assert "bmi" in refs[Topic.OBESITY_BONE_ASSESSMENT].value_sets


def test_the_committed_reference_matches_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == rule_reference(Settings(_env_file=None)), (
        "docs/rule-reference.md is stale: run `bone-health-cds rules > docs/rule-reference.md`"
    )
