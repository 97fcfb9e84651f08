"""Drug classes and conditions for the diabetes-drug and bone-drug tests (the builders are tests/builders.py)."""

from __future__ import annotations

from datetime import date

from service.kernel.record import ConditionFact, DrugClass, Problem
from service.kernel.thresholds import RuleSettings
from tests.builders import condition

SETTINGS = RuleSettings()

TZD = {DrugClass.TZD}
SGLT2 = {DrugClass.SGLT2_INHIBITOR}
INSULIN = {DrugClass.INSULIN}
METFORMIN = {DrugClass.METFORMIN}
ORAL_BP = {DrugClass.BISPHOSPHONATE}
ZOLEDRONIC = {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID}
IBANDRONATE_IV = {DrugClass.BISPHOSPHONATE, DrugClass.BISPHOSPHONATE_IV}
DENOSUMAB = {DrugClass.DENOSUMAB}
ANABOLIC = {DrugClass.ANABOLIC}
CALCIUM = {DrugClass.CALCIUM_SUPPLEMENT}
NATIVE_D = {DrugClass.NATIVE_VITAMIN_D}
ACTIVE_D = {DrugClass.ACTIVE_VITAMIN_D}


def osteoporosis(onset: date | None = date(2019, 5, 2)) -> ConditionFact:
    return condition(Problem.OSTEOPOROSIS, onset=onset)


def t2dm() -> ConditionFact:
    return condition(Problem.T2DM, onset=date(2012, 3, 1))
