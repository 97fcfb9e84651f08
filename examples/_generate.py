"""Regenerate examples/: requests built from scenarios, and the cards the app answers at AS_OF.

Run from the repository root: `python examples/_generate.py`. tests/test_examples.py replays them.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from service.app import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.scenarios._scenario import load  # noqa: E402

AS_OF = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
EXAMPLES = {
    "tzd-order-select": ("diabetes_drugs/tzd-pioglitazone-osteoporosis-warning.yaml", "en"),
    "monitoring-overdue": ("monitoring/bisphosphonate-overdue.yaml", "en"),
    "denosumab-sequencing-missing": ("denosumab/sequencing-stopped-before-d-plus-183-warning.yaml", "en"),
    "denosumab-dose-due": ("denosumab/dose-due-day-183.yaml", "en"),
    "denosumab-sequencing-missing-zh": ("denosumab/sequencing-stopped-before-d-plus-183-warning.yaml", "zh"),
    "oral-bisphosphonate-unsuitable": (
        "drug_safety/alendronate-bed-bound-egfr-day-30-zoledronic-offered.yaml",
        "en",
    ),
    "bone-drug-in-pregnancy": ("drug_safety/pregnancy-z34-day-280-alendronate-only-card.yaml", "en"),
    "osteoporosis-untreated": (
        "treatment_gap/t2dm-osteoporosis-warning-with-phenotype-and-fall-risk.yaml",
        "en",
    ),
    "hypocalcemia-on-antiresorptive": ("calcium/prolia-calcium-7-5-mg-dl-severe-critical.yaml", "en"),
    "glycemic-overtreatment-fall-risk": ("glycaemia/glimepiride-hba1c-52-mmol-mol-warning.yaml", "en"),
    "ckd-mineral-bone-workup": ("ckd_mbd/alendronate-combined-chart-zh.yaml", "en"),
}


def main() -> None:
    out = REPO / "examples"
    with TemporaryDatabase() as url:
        client = TestClient(create_app(Settings(auth_enabled=False, database_url=url), clock=lambda: AS_OF))
        for name, (scenario, language) in EXAMPLES.items():
            loaded = load(REPO / "tests" / "scenarios" / scenario)
            assert loaded.now == AS_OF, f"{scenario} must be written at {AS_OF}"
            request = loaded.request
            request["hookInstance"] = f"example-{name}"
            service = f"bone-health-{loaded.hook}"
            response = client.post(
                f"/cds-services/{service}", json=request, headers={"Accept-Language": language}
            )
            response.raise_for_status()
            (out / f"{name}.json").write_text(json.dumps(request, indent=2, ensure_ascii=False) + "\n")
            (out / f"{name}.cards.json").write_text(
                json.dumps(
                    {"service": service, "language": language, **_stable_uuids(name, response.json())},
                    indent=2,
                    ensure_ascii=False,
                )
                + "\n"
            )
            print(f"{name}: {[c['source']['topic']['code'] for c in response.json()['cards']]}")


def _stable_uuids(name: str, answer: dict[str, object]) -> dict[str, object]:
    """The answer with each card's and suggestion's ``uuid`` derived from the example's name and its
    place in the answer: the service mints new ones on every call, and regenerating the examples should
    change only what changed."""
    counter = iter(range(1_000_000))

    def walk(value: object) -> object:
        if isinstance(value, dict):
            return {
                k: str(uuid.uuid5(uuid.NAMESPACE_URL, f"bone-health-cds/examples/{name}/{next(counter)}"))
                if k == "uuid"
                else walk(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    result = walk(answer)
    assert isinstance(result, dict)
    return result


class TemporaryDatabase:
    def __enter__(self) -> str:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        return f"sqlite:///{self._dir.name}/examples.db"

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


if __name__ == "__main__":
    main()
