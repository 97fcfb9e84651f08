"""A renal function computed by CKD-EPI 2021 (creatinine, no weight: rules.md "Renal function", r3) is
worded by the phrase library in both languages, and says that no weight was recorded."""

from __future__ import annotations

import pytest

from service.cards import render
from service.cards._phrases import phrases
from service.kernel.record import Lab, Sex
from service.rules.bone_drugs import bisphosphonate_renal_ordered
from service.rules.definitions import renal_function
from tests.builders import NOW, born_years_ago, draft, lab, patient, record
from tests.service.rules._drug_records import ORAL_BP, SETTINGS


@pytest.mark.parametrize(("language", "words"), [("en", "no weight recorded"), ("zh", "未记录体重")])
def test_a_ckd_epi_value_computed_without_a_weight_is_worded(language: str, words: str) -> None:
    rec = record(
        who=patient(Sex.FEMALE, born_years_ago(88)),
        labs=[lab(Lab.CREATININE, 1.6, 5)],  # CKD-EPI 2021 about 31, below 35
        drafts=[draft(ORAL_BP)],
    )
    renal = renal_function(rec, NOW, 365, SETTINGS)
    assert renal is not None and renal.no_weight
    assert words in phrases(language).renal(renal) and words in phrases(language).renal_short(renal)
    finding = bisphosphonate_renal_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    card = render(finding, rec, NOW, language).to_json()
    assert words in card["detail"]
