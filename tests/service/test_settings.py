"""Settings come from BHCDS_* variables, with rules.md's defaults for every clinical number."""

from __future__ import annotations

import json

import pytest

from service.kernel.thresholds import PopulationProfile
from service.settings import Settings


def test_auth_is_on_by_default() -> None:
    assert Settings().auth_enabled is True


def test_issuers_accept_both_documented_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "BHCDS_AUTH_ISSUERS",
        json.dumps(
            {
                "https://a.example": "https://a.example/jwks.json",
                "https://b.example": {
                    "jwks": "/etc/b.json",
                    "jku": ["https://b.example/k"],
                    "fhir_servers": ["https://b/fhir"],
                },
            }
        ),
    )
    issuers = Settings().auth_issuers
    assert issuers["https://a.example"].jwks == "https://a.example/jwks.json"
    assert issuers["https://a.example"].fhir_servers is None  # the plain form allows any fhirServer
    assert issuers["https://b.example"].jku == ["https://b.example/k"]
    assert issuers["https://b.example"].fhir_servers == ["https://b/fhir"]


@pytest.mark.parametrize(
    ("value", "servers"),
    [
        (
            "https://a.example/fhir, http://127.0.0.1:8080/fhir",
            ["https://a.example/fhir", "http://127.0.0.1:8080/fhir"],
        ),
        ('["https://a.example/fhir"]', ["https://a.example/fhir"]),
        ("", []),
    ],
)
def test_fhir_servers_is_a_list_comma_separated_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, servers: list[str]
) -> None:
    monkeypatch.setenv("BHCDS_FHIR_SERVERS", value)
    assert Settings().fhir_servers == servers


def test_fhir_servers_unset_allows_any_and_reaches_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.app import protocol_config

    monkeypatch.delenv("BHCDS_FHIR_SERVERS", raising=False)
    assert Settings().fhir_servers is None
    assert protocol_config(Settings()).fhir_servers is None
    monkeypatch.setenv("BHCDS_FHIR_SERVERS", "https://a.example/fhir")
    assert protocol_config(Settings()).fhir_servers == ("https://a.example/fhir",)


def test_a_clinical_threshold_is_a_nested_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().rules.bisphosphonate_min_renal_function == 35.0
    monkeypatch.setenv("BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION", "30")
    assert Settings().rules.bisphosphonate_min_renal_function == 30.0


def test_population_profile_switches_obesity_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    cn = Settings().rules
    assert cn.population_profile is PopulationProfile.CN
    assert (cn.bmi_obese, cn.waist_threshold_cm(female=True), cn.waist_threshold_cm(female=False)) == (
        28,
        85,
        90,
    )
    monkeypatch.setenv("BHCDS_POPULATION_PROFILE", "who")
    who = Settings().rules
    assert (who.bmi_obese, who.waist_threshold_cm(female=True), who.waist_threshold_cm(female=False)) == (
        30,
        88,
        102,
    )


def test_cors_origins_accept_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BHCDS_CORS_ORIGINS", "https://ehr.a, https://ehr.b")
    assert Settings().cors_origins == ["https://ehr.a", "https://ehr.b"]


def test_the_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in Settings.model_fields:
        if name != "rules":
            assert f"BHCDS_{name.upper()}" in readme, name
