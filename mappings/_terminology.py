"""Value sets loaded once into lookups: (system, code) -> concept ids, and names -> concept ids.

The JSON files in valuesets/ are the data (one FHIR ValueSet per concept plus names.json); this module
only indexes them. ICD-10 and ATC are hierarchical by prefix, so their codes and "is-a" filters match
every code below them (E11 covers E11.9, E1122 and the Chinese clinical extension E11.900x001).

An ICD-10 rule matches every edition unless it carries the extension ``EDITION_EXT``: then it matches only
codes sent under its own edition's URI (rules.md "Conditions": a list labelled ICD-10-CM matches only the
ICD-10-CM URI; one labelled WHO ICD-10, the WHO and Chinese URIs), because the editions give some codes
other meanings (ICD-10-CM Z33.2 is an elective termination, WHO Z33 is pregnancy).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

VALUESET_DIR = Path(__file__).resolve().parent / "valuesets"

_SYSTEM_ALIASES: dict[str, str] = {
    "http://loinc.org": "loinc",
    "urn:oid:2.16.840.1.113883.6.1": "loinc",
    "http://snomed.info/sct": "snomed",
    "urn:oid:2.16.840.1.113883.6.96": "snomed",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "urn:oid:2.16.840.1.113883.6.88": "rxnorm",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "urn:oid:2.16.840.1.113883.6.90": "icd10",
    "urn:oid:2.16.840.1.113883.6.3": "icd10",
    # China's EMR data standards (WS 363/445): ICD-10 diagnosis codes and the diagnosis code table; seen with
    # codeSystemName "ICD-10" / "诊断代码表(ICD-10)" in several independent CDA and FHIR templates (code search)
    "urn:oid:2.16.156.10011.2.3.3.11": "icd10",
    "urn:oid:2.16.156.10011.2.3.3.11.3": "icd10",
    "http://www.whocc.no/atc": "atc",
    "urn:oid:2.16.840.1.113883.6.73": "atc",
    "http://www.ama-assn.org/go/cpt": "cpt",
    "urn:oid:2.16.840.1.113883.6.12": "cpt",
}
_HIERARCHICAL = ("icd10", "atc")
EDITION_EXT = "urn:bone-health-cds:icd10-edition-only"
_ICD10_CM_URIS = frozenset({"http://hl7.org/fhir/sid/icd-10-cm", "urn:oid:2.16.840.1.113883.6.90"})
_ICD10_CM = re.compile(r"icd[-_ ]?10[-_ ]?cm", re.IGNORECASE)


def system_key(system: object) -> str | None:
    """Our short name of a code system URI, tolerating the spellings EHRs use; None when unknown."""
    if not isinstance(system, str):
        return None
    uri = system.strip().rstrip("/")
    known = _SYSTEM_ALIASES.get(uri)
    if known:
        return known
    lower = uri.lower()
    if lower.startswith("http://snomed.info/sct"):  # edition/version URIs
        return "snomed"
    if "pcs" not in lower and re.search(r"icd[-_ ]?10", lower):  # ICD-10, ICD-10-CM, national editions
        return "icd10"
    if "whocc" in lower or re.search(r"(^|[/:])atc($|[/_-])", lower):
        return "atc"
    return None


def icd10_edition(system: object) -> str | None:
    """ "cm" for an ICD-10-CM URI, "who" for WHO ICD-10 and the national editions (China's); None otherwise."""
    if system_key(system) != "icd10" or not isinstance(system, str):
        return None
    uri = system.strip().rstrip("/")
    return "cm" if uri in _ICD10_CM_URIS or _ICD10_CM.search(uri) else "who"


def _table(key: str, system: object, edition_only: bool) -> str:
    """The prefix table a rule of ``system`` goes to: "icd10:cm"/"icd10:who" for an edition-only rule."""
    if key == "icd10" and edition_only:
        return f"icd10:{icd10_edition(system)}"
    return key


def _normal_code(key: str, code: str) -> str:
    code = code.strip()
    if key in _HIERARCHICAL:
        return re.sub(r"[\s.]", "", code).upper()
    return code


def normalise_text(text: str) -> str:
    """Case- and width-insensitive form for name matching (full-width letters, Ⅱ -> ii)."""
    return unicodedata.normalize("NFKC", text).lower()


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]")


def _contains(term: str, inner: str) -> bool:
    if inner not in term:
        return False
    if _CJK.search(inner):
        return True
    return re.search(r"(?<![a-z0-9])" + re.escape(inner) + r"(?![a-z0-9])", term) is not None


@dataclass(frozen=True, slots=True, eq=False)  # eq=False: hashed by identity, so memos can key on it
class NameIndex:
    """Finds concept names in free text: whole words for Latin script, substrings for Chinese."""

    latin: re.Pattern[str] | None
    cjk: re.Pattern[str] | None
    terms: dict[str, frozenset[str]]
    patterns: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def build(cls, names: dict[str, Any], allowed: Iterable[str]) -> NameIndex:
        wanted = set(allowed)
        terms: dict[str, set[str]] = defaultdict(set)
        patterns: list[tuple[re.Pattern[str], str]] = []
        for concept, spec in names.items():
            if concept not in wanted:
                continue
            for term in spec.get("terms", []):
                terms[normalise_text(term).strip()].add(concept)
            for pattern in spec.get("patterns", []):
                patterns.append((re.compile(normalise_text(pattern)), concept))
        latin = sorted((t for t in terms if t and not _CJK.search(t)), key=len, reverse=True)
        cjk = sorted((t for t in terms if _CJK.search(t)), key=len, reverse=True)
        # a match is the longest term at its place: give it the concepts of the terms inside it too
        # ("骨质疏松性骨折" is also "骨质疏松", "osteoporotic fracture" also "osteoporotic")
        closed = {term: set(concepts) for term, concepts in terms.items()}
        for term in closed:
            for inner, concepts in terms.items():
                if inner != term and _contains(term, inner):
                    closed[term] |= concepts
        return cls(
            latin=re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, latin)) + r")(?![a-z0-9])")
            if latin
            else None,
            cjk=re.compile("(" + "|".join(map(re.escape, cjk)) + ")") if cjk else None,
            terms={t: frozenset(c) for t, c in closed.items()},
            patterns=tuple(patterns),
        )

    def find(self, text: str) -> frozenset[str]:
        if not text:
            return frozenset()
        normal = normalise_text(text)
        found: set[str] = set()
        for regex in (self.latin, self.cjk):
            if regex is not None:
                for match in regex.finditer(normal):
                    found |= self.terms[match.group(1)]
        for pattern, concept in self.patterns:
            if pattern.search(normal):
                found.add(concept)
        return frozenset(found)


class Terminology:
    """All value sets of one directory, indexed for constant-time code lookups."""

    def __init__(self, directory: Path = VALUESET_DIR) -> None:
        exact: dict[tuple[str, str], set[str]] = defaultdict(set)
        prefixes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        excludes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.concepts: set[str] = set()
        for path in sorted(directory.glob("*.json")):
            if path.name == "names.json":
                continue
            valueset = json.loads(path.read_text(encoding="utf-8"))
            concept = str(valueset["id"])
            self.concepts.add(concept)
            for entry in valueset.get("expansion", {}).get("contains", []):
                key = system_key(entry.get("system"))
                if key is None:
                    continue
                code = _normal_code(key, str(entry["code"]))
                if key in _HIERARCHICAL:
                    prefixes[key][code].add(concept)
                else:
                    exact[(key, code)].add(concept)
            for part, target in (("include", prefixes), ("exclude", excludes)):
                for rule in valueset.get("compose", {}).get(part, []):
                    key = system_key(rule.get("system"))
                    edition_only = any(
                        e.get("url") == EDITION_EXT and e.get("valueBoolean") is True
                        for e in rule.get("extension", [])
                    )
                    for flt in rule.get("filter", []):
                        if key in _HIERARCHICAL and flt.get("op") == "is-a":
                            table = _table(key, rule.get("system"), edition_only)
                            target[table][_normal_code(key, str(flt["value"]))].add(concept)
        self._exact = {k: frozenset(v) for k, v in exact.items()}
        self._prefixes = {k: {p: frozenset(c) for p, c in v.items()} for k, v in prefixes.items()}
        self._excludes = {k: {p: frozenset(c) for p, c in v.items()} for k, v in excludes.items()}
        names = json.loads((directory / "names.json").read_text(encoding="utf-8"))
        self.names: dict[str, Any] = names["concepts"]
        self.oncology: dict[str, Any] = names["oncology"]
        self.ibandronate_iv: dict[str, str] = names["ibandronate_iv"]
        self.combination_exceptions: list[dict[str, Any]] = names.get("combination_exceptions", [])

    def lookup(self, system: object, code: object) -> frozenset[str]:
        """Concept ids of one coding; empty when the system or code is unknown or malformed."""
        key = system_key(system)
        if key is None or not isinstance(code, str) or not code.strip():
            return frozenset()
        normal = _normal_code(key, code)
        if key not in _HIERARCHICAL:
            return self._exact.get((key, normal), frozenset())
        tables = (key, f"icd10:{icd10_edition(system)}") if key == "icd10" else (key,)
        return self._hierarchical(tables, normal)

    @cache  # noqa: B019 - one Terminology lives for the whole process
    def _hierarchical(self, tables: tuple[str, ...], code: str) -> frozenset[str]:
        found: set[str] = set()
        removed: set[str] = set()
        for name in tables:
            table, excludes = self._prefixes.get(name, {}), self._excludes.get(name, {})
            for end in range(1, len(code) + 1):
                found |= table.get(code[:end], frozenset())
                removed |= excludes.get(code[:end], frozenset())
        return frozenset(found - removed)

    def name_index(self, allowed: Iterable[str]) -> NameIndex:
        return NameIndex.build(self.names, allowed)
