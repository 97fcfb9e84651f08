"""Regenerate ``service/rule_pages/examples.json``: the example cards the rule pages show.

Each topic's examples are cards the application answers for scenarios of the clinical scenario library
(``tests/scenarios``), in every card language, each scenario through a fresh app at the scenario's own
clock. The package ships the result, so the running service never reads tests/.
Run from the repository root: ``python -m tools.rule_page_examples``; tests/service/test_rule_pages.py
fails while the committed file differs from what this produces.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "service" / "rule_pages" / "examples.json"
LANGUAGES = ("en", "zh")

#: topic → the scenarios (under tests/scenarios) whose card for that topic is its example, most telling first.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "tzd-fracture-risk": (
        "diabetes_drugs/tzd-pioglitazone-osteoporosis-warning.yaml",
        "diabetes_drugs/tzd-actos-woman-t2dm-info.yaml",
    ),
    "bisphosphonate-renal-contraindication": ("bone_drugs/alendronate-egfr-28-critical.yaml",),
    "bisphosphonate-renal-function-unknown": ("bone_drugs/risedronate-no-renal-function-warning.yaml",),
    "pre-infusion-calcium-check": ("bone_drugs/prolia-calcium-2-14-critical.yaml",),
    "sglt2-fracture-caution": ("diabetes_drugs/sglt2-empagliflozin-egfr-48-osteoporosis-info.yaml",),
    "insulin-hypoglycemia-fall-risk": ("diabetes_drugs/insulin-hypoglycaemia-history-warning.yaml",),
    "anabolic-duration-limit": ("bone_drugs/teriparatide-730-days-order-warning.yaml",),
    "monitoring-overdue": ("monitoring/supplement-t2dm-no-tests.yaml",),
    "denosumab-sequencing-missing": ("denosumab/sequencing-stopped-before-d-plus-183-warning.yaml",),
    "denosumab-dose-due": ("denosumab/dose-due-day-183.yaml",),
    "denosumab-hypocalcemia-monitoring": ("denosumab/hypocalcemia-no-check-after-day-7.yaml",),
    "hypercalcemia-on-therapy": (
        "bone_drugs/teriparatide-calcium-3-01-critical.yaml",
        "bone_drugs/calcium-carbonate-calcium-2-61-warning.yaml",
    ),
    "diabetic-fracture-risk-phenotype": ("screening/phenotype_neuropathy_no_dxa.yaml",),
    "fall-risk-assessment-due": ("screening/fall_risk_due_osteoporosis.yaml",),
    "obesity-bone-assessment": ("screening/obesity_bmi_28_cn.yaml",),
    "vitamin-d-deficiency": ("screening/vitamin_d_19_9_ng_ml.yaml",),
    "oral-bisphosphonate-unsuitable": (
        "drug_safety/alendronate-bed-bound-egfr-day-30-zoledronic-offered.yaml",
    ),
    "bone-drug-in-pregnancy": ("drug_safety/prolia-brand-positive-urine-hcg-critical.yaml",),
    "osteoporosis-untreated": ("treatment_gap/t2dm-osteoporosis-warning-with-phenotype-and-fall-risk.yaml",),
    "hypocalcemia-on-antiresorptive": ("calcium/prolia-calcium-7-5-mg-dl-severe-critical.yaml",),
    "glycemic-overtreatment-fall-risk": ("glycaemia/glimepiride-hba1c-52-mmol-mol-warning.yaml",),
    "ckd-mineral-bone-workup": ("ckd_mbd/alp-day-366-only-alp-offered.yaml",),
}


#: The answer the rules index shows as an EHR shows it: a complex patient whose info cards fold into one.
ANSWER = "combinations/complex_patient_card_budget.yaml"
#: The test client's base URL: the folded card's links are written relative to the service, as on a page.
_TEST_BASE = "http://testserver"


def _example(card: dict[str, Any], scenario: Any) -> dict[str, Any]:
    """What a rule page shows of a card: no uuid, no link back to the page itself."""
    return {
        "summary": card["summary"],
        "indicator": card["indicator"],
        "detail": card.get("detail", "").replace(f"({_TEST_BASE}/", "(/"),
        "source": {k: v for k, v in card["source"].items() if k in ("label", "url")},
        "suggestions": [s["label"] for s in card.get("suggestions", [])],
        "hook": scenario.hook,
        "scenario": scenario.title,
    }


def generate() -> dict[str, Any]:
    """topic → language → example cards, from the scenarios through the real application."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings
    from tests.scenarios._scenario import load

    examples: dict[str, dict[str, list[dict[str, Any]]]] = {}
    answer: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        n = 0

        def cards_of(path: str, language: str) -> tuple[Any, list[dict[str, Any]]]:
            nonlocal n
            scenario = load(REPO / "tests" / "scenarios" / path)
            n += 1
            settings = Settings(
                _env_file=None,
                auth_enabled=False,
                database_url=f"sqlite:///{tmp}/{n}.db",
                **scenario.settings,
            )
            app = create_app(settings, clock=lambda now=scenario.now: now)
            with TestClient(app) as client:
                response = client.post(
                    f"/cds-services/bone-health-{scenario.hook}",
                    json=scenario.request,
                    headers={"Accept-Language": language},
                )
            response.raise_for_status()
            cards: list[dict[str, Any]] = response.json()["cards"]
            return scenario, cards

        for topic, paths in EXAMPLES.items():
            for language in LANGUAGES:
                for path in paths:
                    scenario, all_cards = cards_of(path, language)
                    cards = [c for c in all_cards if c["source"]["topic"]["code"] == topic]
                    if not cards:
                        raise LookupError(f"{path} ({language}) gives no {topic} card")
                    examples.setdefault(topic, {}).setdefault(language, []).append(
                        _example(cards[0], scenario)
                    )
        for language in LANGUAGES:
            scenario, all_cards = cards_of(ANSWER, language)
            answer[language] = [_example(c, scenario) for c in all_cards]
    return {
        "description": "Generated by tools/rule_page_examples.py from the scenario library; do not edit.",
        "examples": examples,
        "answer": answer,
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.write_text(dumps(generate()), encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
