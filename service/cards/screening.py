"""Composers of the screening cards at patient view (rules.md "Patient-view rules").

The words are in ``wording/<lang>/<topic>.yaml``; a composer picks the templates a finding needs and
fills them from the finding's facts (:mod:`service.kernel.facts.screening`), quoting the patient's own
values and dates through the phrase library.
"""

from __future__ import annotations

from typing import Any

from service.cards._phrases import floor1, num, phrases, whole
from service.cards._text import TopicText
from service.cards._wording import Text, TopicWording
from service.kernel.facts.screening import (
    FallRiskFacts,
    ObesityFacts,
    Phenotype,
    PhenotypeFacts,
    PhenotypeKind,
    Population,
    VitaminDFacts,
)
from service.kernel.findings import Finding, Topic
from service.kernel.record import Lab, Sex

NMOL_PER_NG = 2.496  # 25-OH vitamin D: 1 ng/mL = 2.496 nmol/L (rules.md)
SUMMARY_MAX = 140  # CDS Hooks: a summary is under 140 characters


def _population(population: Population, t: TopicText) -> str:
    """Why the patient is in the rule's population: T2DM, bone fragility (with its evidence), or both."""
    fragility = population.fragility
    if fragility is None:
        return t("population_t2dm")
    if population.t2dm:
        return t("population_both")
    return t("population_fragility", fragility=phrases(t.language).fragility_inline(fragility))


# --- diabetic-fracture-risk-phenotype -------------------------------------------------------------


def _phenotype_key(p: Phenotype) -> str:
    if p.kind is PhenotypeKind.KIDNEY_DISEASE:
        return "diabetic_kidney_disease" if p.diabetic else "chronic_kidney_disease"
    return p.kind.value.replace("-", "_")


def _phenotype_summary(facts: PhenotypeFacts, t: TopicText, window: str) -> str:
    """One sentence: "Type 2 diabetes for 21 years with neuropathy and past hypoglycaemia raises fracture
    risk; ...", or the count of features when the phenotypes would make it too long."""
    duration = [
        t("summary_duration", years=x.years)
        for x in facts.phenotypes
        if x.kind is PhenotypeKind.LONG_DURATION
    ]
    others = [
        t(f"short_{_phenotype_key(x)}") for x in facts.phenotypes if x.kind is not PhenotypeKind.LONG_DURATION
    ]
    features = [t("summary_features", features=_listing(others, t))] if others else []
    summary = t("summary", lead=t("summary_join").join(duration + features), window_days=window)
    if len(summary) >= SUMMARY_MAX:
        summary = t("summary_short", count=len(facts.phenotypes), window_days=window)
    return summary


def _listing(items: list[str], t: TopicText) -> str:
    """ "a, b and c" in English, "a、b、c" in Chinese."""
    return t("list_separator").join(items[:-1]) + (t("list_last") if len(items) > 1 else "") + items[-1]


def _phenotype_line(x: Phenotype, renal: str | None, t: TopicText) -> str:
    """A phenotype's line with its date, and the eGFR beside kidney disease; a Condition recorded without
    any date is named without one ("diabetic kidney disease (eGFR 26 ...)", never "recorded never
    recorded")."""
    key = f"line_{_phenotype_key(x)}"
    if x.since is None:
        egfr = t("egfr_undated", egfr=renal) if renal else ""
        return t(f"{key}_undated", years=x.years, egfr=egfr)
    egfr = t("egfr", egfr=renal) if renal else ""
    return t(key, years=x.years, since=phrases(t.language).day(x.since), egfr=egfr)


def _phenotype(finding: Finding[PhenotypeFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    window = p.span(facts.window_days)
    renal = p.renal(facts.egfr) if facts.egfr is not None else None
    lines = [_phenotype_line(x, renal, t) for x in facts.phenotypes]
    last = facts.last_bmd
    parts = [
        "\n".join([t("heading"), *lines]),
        t("no_dxa", window_days=window, last_bmd=p.day(last.at if last else None)),
        t("why"),
    ]
    return Text(_phenotype_summary(facts, t, window), "\n\n".join(parts))


# --- fall-risk-assessment-due ---------------------------------------------------------------------


def _fall_risk(finding: Finding[FallRiskFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    window = p.span(facts.window_days)
    last = facts.last_assessment
    parts = [
        t("fragility", fragility=p.fragility_inline(facts.fragility)),
        t("not_assessed", window_days=window, last_assessment=p.day(last.at if last else None)),
        t("screen"),
    ]
    return Text(t("summary", window_days=window), "\n\n".join(parts))


# --- obesity-bone-assessment ----------------------------------------------------------------------


def _obesity_lines(facts: ObesityFacts, t: TopicText) -> list[str]:
    p = phrases(t.language)
    lines: list[str] = []
    bmi = facts.bmi
    if bmi is not None and bmi.value is not None:
        lines.append(
            t(
                "bmi_obese" if facts.bmi_met else "bmi_below",
                bmi=floor1(bmi.value),
                bmi_day=p.day(bmi.at),
                bmi_threshold=num(facts.bmi_threshold, 1),
            )
        )
    waist, limit = facts.waist, facts.waist_threshold
    if waist is not None and waist.value is not None and limit is not None:
        lines.append(
            t(
                "waist_obese" if facts.waist_met else "waist_below",
                waist=floor1(waist.value),
                waist_day=p.day(waist.at),
                waist_threshold=num(limit, 1),
                sex=t("sex_female" if facts.sex is Sex.FEMALE else "sex_male"),
            )
        )
    return lines


def _obesity(finding: Finding[ObesityFacts], t: TopicText) -> Text:
    facts = finding.facts
    bmi, waist = facts.bmi, facts.waist
    if facts.bmi_met and bmi is not None and bmi.value is not None:
        measure = t("measure_bmi", bmi=floor1(bmi.value))
    else:  # the waist criterion was met, so there is a waist value
        measure = t("measure_waist", waist=floor1(waist.value or 0.0) if waist is not None else "")
    heading = t(
        "heading",
        population=_population(facts.population, t),
        profile=t(f"profile_{facts.profile.value}"),
    )
    parts = ["\n".join([heading, *_obesity_lines(facts, t)]), t("why"), t("advice")]
    return Text(t("summary", measure=measure), "\n\n".join(parts))


# --- vitamin-d-deficiency -------------------------------------------------------------------------


def _vitamin_d(finding: Finding[VitaminDFacts], t: TopicText) -> Text:
    facts, p = finding.facts, phrases(t.language)
    value = facts.vitamin_d.value or 0.0
    short = p.lab_short(Lab.VITAMIN_D, value, facts.vitamin_d.at)  # the summary: as reported
    parts = [
        t(
            "level",
            population=_population(facts.population, t),
            vitamin_d=p.lab(Lab.VITAMIN_D, value, facts.vitamin_d.at),
            vitamin_d_day=p.day(facts.vitamin_d.at),
            threshold=num(facts.threshold, 1),
            threshold_nmol=whole(facts.threshold * NMOL_PER_NG),
        ),
        t("no_native"),
    ]
    if facts.active_vitamin_d:
        parts.append(t("active_vitamin_d", active_vitamin_d=t("list_separator").join(facts.active_vitamin_d)))
    if facts.calcium_supplement:
        parts.append(t("calcium_supplement"))
    if facts.renal_team:  # r3: renal function below 30 or on dialysis
        renal = facts.renal
        parts.append(
            t("on_dialysis") if facts.dialysis or renal is None else t("renal_low", renal=p.renal(renal))
        )
    if facts.high_calcium is not None:  # r3: never advise calcium with high calcium
        parts.append(t("advice_high_calcium", calcium=p.calcium(facts.high_calcium)))
        summary = t("summary_high_calcium", vitamin_d=short)
    else:
        parts.append(t("advice_renal" if facts.renal_team else "advice"))
        summary = t("summary_renal" if facts.renal_team else "summary", vitamin_d=short)
    return Text(summary, "\n\n".join(parts))


WORDING: dict[Topic, TopicWording[Any]] = {
    Topic.DIABETIC_FRACTURE_RISK_PHENOTYPE: TopicWording(
        PhenotypeFacts, _phenotype, derived=frozenset({"count", "years", "since", "lead", "features"})
    ),
    Topic.FALL_RISK_ASSESSMENT_DUE: TopicWording(FallRiskFacts, _fall_risk),
    Topic.OBESITY_BONE_ASSESSMENT: TopicWording(
        ObesityFacts,
        _obesity,
        derived=frozenset({"measure", "fragility", "bmi_day", "waist_day"}),
    ),
    Topic.VITAMIN_D_DEFICIENCY: TopicWording(
        VitaminDFacts,
        _vitamin_d,
        derived=frozenset({"fragility", "vitamin_d_day", "threshold_nmol", "calcium"}),
    ),
}
