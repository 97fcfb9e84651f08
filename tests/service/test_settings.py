"""Settings come from BHCDS_* variables, with rules.md's defaults for every clinical number."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from service.kernel.thresholds import PopulationProfile, RuleSettings
from service.settings import ConfigurationError, Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


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


# --- checked at start: unknown names, wrong types and values out of bounds stop the service ---

RULES_MD_DEFAULTS = {  # docs/spec/rules.md: every number is a setting with this default
    "albumin_reference_g_per_l": 40.0,
    "albumin_correction_mmol_per_g": 0.02,
    "bisphosphonate_min_renal_function": 35.0,
    "renal_function_window_days": 365,
    "iv_bisphosphonate_renal_window_days": 30,
    "zoledronic_acid_oncology_min_renal_function": 30.0,
    "pre_infusion_calcium_window_days": 30,
    "low_calcium_mmol_per_l": 2.15,
    "vitamin_d_deficient_ng_per_ml": 20.0,
    "vitamin_d_window_days": 365,
    "pre_infusion_ckd_tests_window_days": 92,
    "sglt2_egfr_threshold": 60.0,
    "sglt2_egfr_window_days": 365,
    "older_adult_age_years": 65,
    "metformin_min_renal_function": 30.0,
    "phenotype_min_age_years": 50,
    "renal_team_calcium_below": 30.0,
    "anabolic_max_days": 730,
    "anabolic_course_gap_days": 92,
    "anabolic_last_exposure_days": 30,
    "monitoring_interval_days": 365,
    "anabolic_bmd_interval_days": 730,
    "antiresorptive_recent_days": 365,
    "denosumab_dose_due_days": 183,
    "denosumab_dose_overdue_days": 213,
    "denosumab_course_window_days": 730,
    "denosumab_rebound_days": 365,
    "denosumab_hypocalcemia_renal_threshold": 30.0,
    "denosumab_hypocalcemia_recent_dose_days": 365,
    "denosumab_calcium_check_after_days": 7,
    "denosumab_calcium_weekly_until_days": 35,
    "denosumab_calcium_weekly_window_days": 7,
    "denosumab_calcium_window_days": 30,
    "hypercalcemia_mmol_per_l": 2.60,
    "severe_hypercalcemia_mmol_per_l": 3.00,
    "hypercalcemia_window_days": 92,
    "long_diabetes_days": 3652,
    "bmd_window_days": 730,
    "fall_risk_window_days": 365,
    "obesity_window_days": 730,
    "bmi_obese_cn": 28.0,
    "bmi_obese_who": 30.0,
    "waist_male_cn_cm": 90.0,
    "waist_female_cn_cm": 85.0,
    "waist_male_who_cm": 102.0,
    "waist_female_who_cm": 88.0,
    # revision 3: shared definitions
    "albumin_window_hours": 24,
    "adult_age_years": 18,
    "palliative_procedure_window_days": 92,
    "pregnancy_window_days": 280,
    "dialysis_procedure_window_days": 92,
    "renal_values_compared_days": 7,
    "body_weight_window_days": 365,
    "hypocalcaemia_window_days": 30,
    "severe_low_calcium_mmol_per_l": 1.90,
    "ionised_low_calcium_mmol_per_l": 1.15,
    "ionised_severe_low_calcium_mmol_per_l": 1.00,
    "ionised_high_calcium_mmol_per_l": 1.32,
    "ionised_critical_calcium_mmol_per_l": 1.60,
    "ionised_calcium_preferred_renal_below": 30.0,
    "fragility_min_age_years": 50,
    "test_order_window_days": 92,
    "oncology_regimen_window_days": 365,
    # revision 3: osteoporosis-untreated and the drug holiday
    "untreated_exposure_window_days": 365,
    "untreated_zoledronic_acid_window_days": 730,
    "untreated_denosumab_window_days": 730,
    "untreated_recent_fracture_days": 365,
    "untreated_specialist_age_years": 50,
    "drug_holiday_window_days": 1826,
    "drug_holiday_zoledronic_acid_infusions": 3,
    "drug_holiday_oral_days": 1826,
    "zoledronic_acid_course_gap_days": 456,
    "oral_bisphosphonate_course_gap_days": 92,
    # revision 3: hypocalcemia-on-antiresorptive, glycemic-overtreatment-fall-risk, ckd-mineral-bone-workup
    "hypocalcaemia_denosumab_dose_days": 365,
    "hypocalcaemia_zoledronic_acid_days": 30,
    "calcium_recheck_days": 7,
    "hypocalcaemia_workup_window_days": 92,
    "overtreatment_hba1c_percent": 7.0,
    "overtreatment_hba1c_window_days": 183,
    "recent_hypoglycaemia_days": 365,
    "low_glucose_mmol_per_l": 3.9,
    "low_glucose_window_days": 365,
    "ckd_mbd_egfr_threshold": 30.0,
    "ckd_mbd_egfr_window_days": 365,
    "ckd_mbd_test_interval_days": 365,
    # revision 3: "What a card must look like", the detail budget per language
    "detail_budget_en": 600,
    "detail_budget_zh": 300,
}
INFRASTRUCTURE_NUMBERS = [
    name for name, field in Settings.model_fields.items() if field.annotation in (int, float, "int", "float")
]


@pytest.fixture(autouse=True)
def _no_bhcds_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("BHCDS_"):
            monkeypatch.delenv(name)


def _bounds(field: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for item in field.metadata:
        low = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else low
        low = getattr(item, "gt", None) if getattr(item, "gt", None) is not None else low
        high = getattr(item, "le", None) if getattr(item, "le", None) is not None else high
        high = getattr(item, "lt", None) if getattr(item, "lt", None) is not None else high
    return low, high


def test_the_defaults_are_those_of_rules_md() -> None:
    defaults = Settings().rules.model_dump()
    assert {name: defaults[name] for name in RULES_MD_DEFAULTS} == RULES_MD_DEFAULTS


def test_every_threshold_and_infrastructure_number_has_bounds_that_hold_its_default() -> None:
    numbers = {f"rules.{n}": f for n, f in RuleSettings.model_fields.items() if n != "population_profile"}
    numbers |= {n: Settings.model_fields[n] for n in INFRASTRUCTURE_NUMBERS}
    assert len(INFRASTRUCTURE_NUMBERS) >= 15  # the annotations were recognised
    for name, field in numbers.items():
        low, high = _bounds(field)
        assert low is not None and high is not None, f"{name} has no lower or upper bound"
        assert low <= field.default <= high, name
    # defaults are not validated by pydantic: validate them explicitly
    RuleSettings.model_validate(RuleSettings().model_dump())
    Settings.model_validate({n: Settings.model_fields[n].default for n in INFRASTRUCTURE_NUMBERS})


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION", "-5", "must be at least 10"),
        ("BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION", "abc", "must be a number"),
        ("BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION", "nan", "must be a finite number"),
        ("BHCDS_RULES__FALL_RISK_WINDOW_DAYS", "-30", "must be at least 1"),
        ("BHCDS_RULES__FALL_RISK_WINDOW_DAYS", "0", "must be at least 1"),
        ("BHCDS_RULES__DENOSUMAB_DOSE_DUE_DAYS", "18.5", "must be a whole number"),
        ("BHCDS_RULES__HYPERCALCEMIA_MMOL_PER_L", "26", "must be at most 3.5"),
        ("BHCDS_RULES__BMI_OBESE_CN", "280", "must be at most 40"),
        ("BHCDS_FHIR_TIMEOUT_SECONDS", "0", "must be greater than 0"),
        ("BHCDS_HOOK_DEADLINE_MS", "-1", "must be at least 100"),
        ("BHCDS_DELIVERY_MAX_ATTEMPTS", "0", "must be at least 1"),
        ("BHCDS_SCAN_CONCURRENCY", "many", "must be a whole number"),
        ("BHCDS_AUDIT_RETENTION_DAYS", "-1", "must be at least 1"),
        ("BHCDS_AUTH_ENABLED", "maybe", "must be true or false"),
        ("BHCDS_POPULATION_PROFILE", "us", "must be one of 'cn' or 'who'"),
        ("BHCDS_LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("BHCDS_AUTH_ISSUERS", "{not json", "must be valid JSON"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value) == f"{variable}={value}: {reason}"


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            "BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTON",
            "unknown setting (did you mean BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION?)",
        ),
        ("BHCDS_RULES__NO_SUCH_THRESHOLD", "unknown setting"),
        ("BHCDS_AUTH_ENABLE", "unknown setting (did you mean BHCDS_AUTH_ENABLED?)"),
        ("BHCDS_FHIR_SERVER", "unknown setting (did you mean BHCDS_FHIR_SERVERS?)"),
        # the profile is read at the top level only: inside RULES__ it would be overridden silently
        ("BHCDS_RULES__POPULATION_PROFILE", "unknown setting (did you mean BHCDS_POPULATION_PROFILE?)"),
        ("BHCDS_AUTH_ISSUERS__X", "unknown setting (did you mean BHCDS_AUTH_ISSUERS?)"),
    ],
)
def test_an_unknown_name_is_an_error(monkeypatch: pytest.MonkeyPatch, variable: str, message: str) -> None:
    monkeypatch.setenv(variable, "30")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value) == f"{variable}: {message}"


def test_every_problem_is_named_on_the_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BHCDS_RULES__OLDER_ADULT_AGE_YEARS", "6")
    monkeypatch.setenv("BHCDS_FHIR_MAX_PAGES", "0")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert "BHCDS_RULES__OLDER_ADULT_AGE_YEARS=6: must be at least 50" in message
    assert "BHCDS_FHIR_MAX_PAGES=0: must be at least 1" in message


def test_names_are_checked_case_insensitively_like_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("bhcds_rules__fall_risk_window_days", "183")
    assert load_settings().rules.fall_risk_window_days == 183
    monkeypatch.setenv("bhcds_rules__fall_risk_windw_days", "183")
    with pytest.raises(ConfigurationError, match="bhcds_rules__fall_risk_windw_days: unknown setting"):
        load_settings()


def test_an_unknown_names_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BHCDS_FHIR_TOKN", "s3cr3t-token")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "s3cr3t" not in str(raised.value)
    assert str(raised.value) == "BHCDS_FHIR_TOKN: unknown setting (did you mean BHCDS_FHIR_TOKEN?)"


def test_secret_and_url_values_are_never_echoed() -> None:
    from service.settings import _shown

    environ = {"BHCDS_DATABASE_URL": "postgresql://u:pw@db/x", "BHCDS_FHIR_TOKEN": "tok", "BHCDS_X": "1"}
    assert _shown("BHCDS_DATABASE_URL", environ) == "BHCDS_DATABASE_URL"
    assert _shown("BHCDS_FHIR_TOKEN", environ) == "BHCDS_FHIR_TOKEN"
    assert _shown("BHCDS_X", environ) == "BHCDS_X=1"
    assert _shown("BHCDS_Y", {"BHCDS_Y": "9" * 100}) == "BHCDS_Y=" + "9" * 57 + "..."


def test_the_test_suites_own_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BHCDS_TEST_WORKER_KILLS", "20")
    assert load_settings().rules.bisphosphonate_min_renal_function == 35.0


def test_valid_values_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION", "30")
    monkeypatch.setenv("BHCDS_LOG_LEVEL", "warning")
    settings = load_settings()
    assert settings.rules.bisphosphonate_min_renal_function == 30.0
    assert settings.log_level == "WARNING"


def test_a_misspelt_threshold_in_code_or_json_is_an_error() -> None:
    with pytest.raises(ValidationError, match="unknown threshold bisphosphonate_min_renal"):
        Settings(rules={"bisphosphonate_min_renal": 30})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        RuleSettings(bisphosphonate_min_renal_function=-5)


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("BHCDS_")}
    command = Path(sys.executable).with_name("bone-health-cds")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "service.cli"]
    return subprocess.run(
        [*argv, *args], env={**base, **env}, cwd=REPO, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION",
            "-5",
            "bone-health-cds: configuration error: "
            "BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION=-5: must be at least 10",
        ),
        (
            "BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTON",
            "30",
            "bone-health-cds: configuration error: BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTON: "
            "unknown setting (did you mean BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION?)",
        ),
        (
            "BHCDS_RULES__RENAL_FUNCTION_WINDOW_DAYS",
            "a year",
            "bone-health-cds: configuration error: "
            "BHCDS_RULES__RENAL_FUNCTION_WINDOW_DAYS=a year: must be a whole number",
        ),
        (
            "BHCDS_HOOK_DEADLINE",
            "4000",
            "bone-health-cds: configuration error: BHCDS_HOOK_DEADLINE: "
            "unknown setting (did you mean BHCDS_HOOK_DEADLINE_MS?)",
        ),
    ],
)
def test_the_cli_stops_with_one_line_and_exit_code_2(variable: str, value: str, line: str) -> None:
    done = _cli("rules", **{variable: value})
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [line]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_the_cli_starts_with_a_valid_override() -> None:
    done = _cli("rules", BHCDS_RULES__BISPHOSPHONATE_MIN_RENAL_FUNCTION="30")
    assert done.returncode == 0, done.stderr
    assert "`bisphosphonate_min_renal_function` = 30.0" in done.stdout
