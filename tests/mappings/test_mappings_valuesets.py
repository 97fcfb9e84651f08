"""The value set files: valid FHIR R4B ValueSets, every code sourced, every concept mapped, reproducible."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from fhir.resources.R4B.valueset import ValueSet

from mappings._terminology import VALUESET_DIR, system_key
from mappings.concepts import DRUGS, LABS, ONCOLOGY, PROBLEMS
from tests.conftest import REPO

FILES = sorted(p for p in VALUESET_DIR.glob("*.json") if p.name != "names.json")
SOURCE = "urn:bone-health-cds:source"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_file_is_a_valid_valueset_whose_codes_name_their_source(path: Path) -> None:
    data = json.loads(path.read_text())
    ValueSet.model_validate(data)
    assert data["id"] == path.stem
    for entry in data["expansion"]["contains"]:
        sources = [e["valueString"] for e in entry.get("extension", []) if e["url"] == SOURCE]
        assert sources and sources[0].strip(), entry
    for include in data["compose"]["include"]:
        if "filter" in include:
            assert any(e["url"] == SOURCE for e in include["extension"])


def test_every_file_is_a_domain_concept_and_every_concept_has_a_file() -> None:
    assert {p.stem for p in FILES} == set(PROBLEMS) | set(LABS) | set(DRUGS) | set(ONCOLOGY)


@pytest.mark.parametrize(
    ("system", "key"),
    [
        ("http://hl7.org/fhir/sid/icd-10-cm", "icd10"),
        ("http://hl7.org/fhir/sid/icd-10", "icd10"),
        ("urn:oid:2.16.840.1.113883.6.90", "icd10"),
        ("http://www.nhc.gov.cn/icd10", "icd10"),
        ("urn:oid:2.16.156.10011.2.3.3.11", "icd10"),  # China EMR standard: ICD-10 diagnosis codes
        ("urn:oid:2.16.156.10011.2.3.3.11.3", "icd10"),  # ... its diagnosis code table
        ("urn:oid:2.16.156.10011.2.3.3.11.2", None),  # cause-of-death table (carries ICD-O morphology too)
        ("http://hl7.org/fhir/sid/icd-10-pcs", None),
        ("http://snomed.info/sct/900000000000207008/version/20240101", "snomed"),
        ("http://www.whocc.no/atc", "atc"),
        ("http://fhir.de/CodeSystem/bfarm/atc", "atc"),
        ("urn:oid:2.16.840.1.113883.6.88", "rxnorm"),
        ("http://loinc.org/", "loinc"),
        ("http://example.org/local", None),
        (None, None),
    ],
)
def test_system_uris_are_normalised(system: str | None, key: str | None) -> None:
    assert system_key(system) == key


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    script = REPO / "tools" / "valuesets" / "build.py"
    spec = importlib.util.spec_from_file_location("build_valuesets", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        module.generate(REPO / "tools" / "valuesets" / "terminology", tmp_path)
    finally:
        del sys.modules[spec.name]
    committed = {p.name: p.read_text() for p in VALUESET_DIR.glob("*.json")}
    generated = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    assert generated == committed
