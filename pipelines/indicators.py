"""The indicator taxonomy (indicators.yaml): loading, validation and matching against an ad.

An indicator fires on regex patterns (title + main text) or through a named detector that
reads what extraction found (ages, phones, ethnicities, wallets, ...). Validation at load
names the offending indicator and key, so a bad edit fails loudly at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipelines.generated import llm_likeness
from pipelines.scope import Scope, boilerplate_spans, compile_scope, is_name, negated
from vigil.core.prefilter import PatternSet
from vigil.core.records import Entity, IndicatorHit, Span

TAXONOMY_PATH = Path(__file__).with_name("indicators.yaml")
_REQUIRED = ("id", "category", "weight", "source")
_ALLOWED = {"id", "category", "weight", "source", "description", "patterns", "detector", "params", "escalate"}
MAX_EVIDENCE = 10


class TaxonomyError(ValueError):
    """The taxonomy file is malformed; the message names the indicator and the key."""


@dataclass(frozen=True)
class Findings:
    """What extraction found in one ad, as the detectors read it."""

    text: str
    title: str = ""
    entities: tuple[Entity, ...] = ()
    ages: tuple[tuple[int, Span], ...] = ()
    ethnicities: tuple[tuple[str, Span], ...] = ()
    providers: tuple[tuple[int, Span], ...] = ()
    has_price: bool = False
    language: str | None = None


@dataclass(frozen=True)
class Indicator:
    id: str
    category: str
    weight: float
    source: str
    description: str = ""
    patterns: tuple[re.Pattern[str], ...] = ()
    detector: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    escalate: bool = False


@dataclass(frozen=True)
class Taxonomy:
    version: int
    categories: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    scope: Scope | None = None
    prefilter: PatternSet | None = field(default=None, compare=False, repr=False)

    @cached_property
    def ordered(self) -> tuple[Indicator, ...]:
        """The indicators in matching order: composite detectors after those they combine."""
        return tuple(sorted(self.indicators, key=lambda i: i.detector in _LATE_DETECTORS))

    @cached_property
    def rank(self) -> dict[str, int]:
        """Each indicator's place in the taxonomy, the order its hits are reported in."""
        return {indicator.id: i for i, indicator in enumerate(self.indicators)}

    @cached_property
    def _owners(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(i.id, pattern) for i in self.indicators for pattern in i.patterns]

    def candidates(self, findings: Findings) -> dict[str, list[re.Pattern[str]]]:
        """The pattern indicators that may match the ad's title or text, each with those of its
        patterns that may: one pass over both instead of one per pattern (every pattern when the
        taxonomy has no prefilter)."""
        if self.prefilter is None:
            return {i.id: list(i.patterns) for i in self.indicators if i.patterns}
        found: dict[str, list[re.Pattern[str]]] = {}
        for index in sorted(self.prefilter.candidates(f"{findings.title}\n{findings.text}")):
            indicator_id, pattern = self._owners[index]
            found.setdefault(indicator_id, []).append(pattern)
        return found


_SCOPE_KEYS = ("negation_before", "negation_after", "boilerplate", "name_cues")


def _parse_scope(raw: Any) -> Scope | None:
    """The optional ``scope`` mapping: lists of regexes per key; errors name the key."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TaxonomyError("scope: must be a mapping")
    unknown = sorted(set(raw) - set(_SCOPE_KEYS) - {"name_terms", "negation_fillers"})
    if unknown:
        raise TaxonomyError(f"scope, key {unknown[0]!r}: unknown key")
    for key in _SCOPE_KEYS:
        _compile_all("scope", key, raw.get(key))
    if "negation_fillers" in raw:
        _compile_all("scope", "negation_fillers", raw["negation_fillers"])
    terms = raw.get("name_terms", [])
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise TaxonomyError("scope, key 'name_terms': must be a list of words")
    return compile_scope(raw)


def _error(indicator_id: str, key: str, message: str) -> TaxonomyError:
    return TaxonomyError(f"indicator {indicator_id!r}, key {key!r}: {message}")


def _compile_all(indicator_id: str, key: str, patterns: Any) -> tuple[re.Pattern[str], ...]:
    """Check each pattern on its own (for a precise error), then join them into one regex:
    one scan of the text per indicator instead of one per pattern."""
    if not isinstance(patterns, list) or not patterns:
        raise _error(indicator_id, key, "must be a non-empty list of regular expressions")
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not pattern:
            raise _error(indicator_id, f"{key}[{i}]", "must be a non-empty string")
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise _error(indicator_id, f"{key}[{i}]", f"invalid regex: {exc}") from exc
    return (re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE),)


def parse_taxonomy(data: Any) -> Taxonomy:
    """Validate the YAML document and build the taxonomy; raises TaxonomyError."""
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), list):
        raise TaxonomyError("taxonomy must be a mapping with an 'indicators' list")
    categories = data.get("categories")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise TaxonomyError("taxonomy must list its 'categories' as strings")
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for position, raw in enumerate(data["indicators"]):
        if not isinstance(raw, dict):
            raise TaxonomyError(f"indicator #{position}: must be a mapping")
        indicator_id = raw.get("id")
        if not isinstance(indicator_id, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", indicator_id):
            raise _error(str(indicator_id or f"#{position}"), "id", "must be a snake_case string")
        if indicator_id in seen:
            raise _error(indicator_id, "id", "duplicate id")
        seen.add(indicator_id)
        for key in _REQUIRED:
            if key not in raw:
                raise _error(indicator_id, key, "missing")
        unknown = sorted(set(raw) - _ALLOWED)
        if unknown:
            raise _error(indicator_id, unknown[0], "unknown key")
        if raw["category"] not in categories:
            raise _error(indicator_id, "category", f"{raw['category']!r} is not one of {categories}")
        weight = raw["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise _error(indicator_id, "weight", "must be a number in [0, 1]")
        if not isinstance(raw["source"], str) or not raw["source"].strip():
            raise _error(indicator_id, "source", "must cite the evidence")
        if ("patterns" in raw) == ("detector" in raw):
            raise _error(indicator_id, "patterns/detector", "exactly one of patterns or detector is required")
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise _error(indicator_id, "params", "must be a mapping")
        detector = raw.get("detector")
        if detector is not None and detector not in DETECTORS:
            raise _error(indicator_id, "detector", f"unknown detector {detector!r}; known: {sorted(DETECTORS)}")
        if "patterns" in params:
            _compile_all(indicator_id, "params.patterns", params["patterns"])
        if detector == "cooccurrence":
            if params.get("category") not in categories or not isinstance(params.get("min"), int):
                raise _error(indicator_id, "params", "cooccurrence needs a known 'category' and an integer 'min'")
        if not isinstance(raw.get("escalate", False), bool):
            raise _error(indicator_id, "escalate", "must be true or false")
        indicators.append(
            Indicator(
                id=indicator_id,
                category=raw["category"],
                weight=float(weight),
                source=raw["source"].strip(),
                description=str(raw.get("description", "")),
                patterns=_compile_all(indicator_id, "patterns", raw["patterns"]) if "patterns" in raw else (),
                detector=detector,
                params=params,
                escalate=raw.get("escalate", False),
            )
        )
    prefilter = PatternSet([p.pattern for i in indicators for p in i.patterns])
    return Taxonomy(int(data.get("version", 1)), tuple(categories), tuple(indicators), _parse_scope(data.get("scope")), prefilter)


def load_taxonomy(path: Path | str = TAXONOMY_PATH) -> Taxonomy:
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise TaxonomyError(f"{path}: not valid YAML: {exc}") from exc
    return parse_taxonomy(data)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return load_taxonomy(TAXONOMY_PATH)


NEGATION_WORDS = 3
ESCALATING_NEGATION_WORDS = 2  # and fillers only ("I do not see minors"; not "no limits underage")


def _in_scope(scope: Scope | None, escalate: bool, source: str, match: re.Match[str], legal: list[tuple[int, int]] | None) -> bool:
    """Whether a match counts: not negated, not a name, and (for escalating indicators) not
    inside a disclaimer or legal sentence."""
    if scope is None:
        return True
    start, end = match.span()
    if negated(scope, source, start, end, ESCALATING_NEGATION_WORDS if escalate else NEGATION_WORDS, escalate):
        return False
    if is_name(scope, source, start, end):
        return False
    return not (legal and any(s <= start < e for s, e in legal))


def _pattern_spans(
    patterns: Iterable[re.Pattern[str]],
    findings: Findings,
    escalate: bool = False,
    scope: Scope | None = None,
    limit: int = MAX_EVIDENCE + 1,
) -> list[Span]:
    """Matches in the text, then in the title: at most ``limit`` of each per pattern (the first
    ones, which are all that the evidence keeps), so a page repeating a phrase costs no more."""
    spans: list[Span] = []
    for pattern in patterns:
        for source, in_title in ((findings.text, False), (findings.title, True)):
            legal: list[tuple[int, int]] | None = None
            found = 0
            for match in pattern.finditer(source):
                if found >= limit:
                    break
                if match.end() <= match.start():
                    continue
                if escalate and legal is None and scope is not None:
                    legal = boilerplate_spans(scope, source)
                if not _in_scope(scope, escalate, source, match, legal):
                    continue
                spans.append(Span(text=match.group(0), start=-1 if in_title else match.start(), end=-1 if in_title else match.end()))
                found += 1
    return spans


Detector = Callable[[Indicator, Findings, list[IndicatorHit]], list[Span]]


def _stated_age_under_18(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    return [span for age, span in findings.ages if age < 18]


def _obfuscated_phone(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    return [
        Span(text=e.raw, start=e.start, end=e.end) for e in findings.entities if e.type == "phone" and e.obfuscated
    ]


def _stated_ethnicity(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    return [span for _, span in findings.ethnicities]


def _multiple_providers(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    return [span for count, span in findings.providers if count >= int(indicator.params.get("min", 2))]


_OTHER_PAYMENT_RE = re.compile(
    r"\b(?:cash|card|paypal|bank\s+transfer|iban|contant|bar(?:geld)?|espèces|efectivo|contanti|gotówk\w*|numerar|dinheiro|tikkie|revolut|venmo|cashapp)\b",
    re.IGNORECASE,
)


def _crypto_only_payment(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    patterns = _compiled_params(indicator)
    may_match = _params_prefilter(patterns).may_match(f"{findings.title}\n{findings.text}")
    spans = _pattern_spans(patterns, findings, scope=default_taxonomy().scope) if may_match else []
    if spans:
        return spans
    wallets = [e for e in findings.entities if e.type == "wallet"]
    if wallets and not _OTHER_PAYMENT_RE.search(findings.text):
        return [Span(text=e.raw, start=e.start, end=e.end) for e in wallets]
    return []


@lru_cache(maxsize=64)
def _compiled_params_cached(indicator_id: str, patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return _compile_all(indicator_id, "params.patterns", list(patterns)) if patterns else ()


@lru_cache(maxsize=64)
def _params_prefilter(patterns: tuple[re.Pattern[str], ...]) -> PatternSet:
    return PatternSet(patterns)


def _compiled_params(indicator: Indicator) -> tuple[re.Pattern[str], ...]:
    return _compiled_params_cached(indicator.id, tuple(indicator.params.get("patterns", ())))


def _cooccurrence(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    category = indicator.params["category"]
    members = [hit for hit in hits if hit.category == category and hit.id != indicator.id]
    if len(members) < int(indicator.params["min"]):
        return []
    return [span for hit in members for span in hit.evidence[:2]]


# An amount has at most 31 digits and separators: from any start the scan is bounded (linear).
_MONEY_RE = re.compile(
    r"(?:[$€£₽]\s?\d[\d.,]*|\d[\d.,]{0,30}+\s?(?:[$€£₽]|eur|euro|usd|dollars?|gbp|pln|zł|lei|ron|rub|k\b))",
    re.IGNORECASE,
)


def _organ_with_price(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    offers = [hit for hit in hits if hit.category == "organ" and hit.id != indicator.id]
    if not offers:
        return []
    money = _MONEY_RE.search(findings.text)
    if money:
        return offers[0].evidence[:2] + [Span(text=money.group(0), start=money.start(), end=money.end())]
    return offers[0].evidence[:2] if findings.has_price else []


def _ai_generated_text(indicator: Indicator, findings: Findings, hits: list[IndicatorHit]) -> list[Span]:
    """Text that compresses like LLM prose (pipelines/generated.py); a weak signal only."""
    ratio = llm_likeness(findings.text, findings.language)
    if ratio is None or ratio > float(indicator.params.get("max_ratio", 0.84)):
        return []
    end = min(len(findings.text), 120)
    return [Span(text=findings.text[:end], start=0, end=end)]


DETECTORS: dict[str, Detector] = {
    "stated_age_under_18": _stated_age_under_18,
    "obfuscated_phone": _obfuscated_phone,
    "stated_ethnicity": _stated_ethnicity,
    "multiple_providers": _multiple_providers,
    "crypto_only_payment": _crypto_only_payment,
    "cooccurrence": _cooccurrence,
    "organ_with_price": _organ_with_price,
    "ai_generated_text": _ai_generated_text,
}
_LATE_DETECTORS = {"cooccurrence", "organ_with_price"}


def match_indicators(
    findings: Findings,
    taxonomy: Taxonomy | None = None,
    max_evidence: int = MAX_EVIDENCE,
    truncated: set[str] | None = None,
) -> list[IndicatorHit]:
    """Indicator hits for one ad; composite detectors run after the indicators they combine.
    Each keeps its first ``max_evidence`` spans; when one had more, ``evidence_spans`` is added
    to ``truncated``."""
    taxonomy = taxonomy or default_taxonomy()
    hits: list[IndicatorHit] = []
    candidates = taxonomy.candidates(findings)
    for indicator in taxonomy.ordered:
        if indicator.detector:
            evidence = DETECTORS[indicator.detector](indicator, findings, hits)
        elif indicator.id not in candidates:
            continue
        else:
            evidence = _pattern_spans(
                candidates[indicator.id], findings, indicator.escalate, taxonomy.scope, max_evidence + 1
            )
        if len(evidence) > max_evidence and truncated is not None:
            truncated.add("evidence_spans")
        if evidence:
            hits.append(
                IndicatorHit(
                    id=indicator.id,
                    category=indicator.category,
                    weight=indicator.weight,
                    source=indicator.source,
                    escalate=indicator.escalate,
                    evidence=sorted(evidence, key=lambda s: s.start)[:max_evidence],
                )
            )
    return sorted(hits, key=lambda h: taxonomy.rank[h.id])
