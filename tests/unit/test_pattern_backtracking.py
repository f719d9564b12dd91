"""Every entity and indicator pattern on long adversarial inputs (issue 12): none may backtrack
catastrophically. Each compiled pattern at module level anywhere in ``pipelines``, ``crawlers`` and
``vigil.core`` (found by walking the packages, so a new module or pattern is covered without
editing this file), each pattern of indicators.yaml and its scope rules, and the Hyperscan
prefilter run over 100,000-character strings made of repeated separators, long digit runs, nested
quotes and brackets, and near-misses of what the patterns look for. A regex written inline is not
found by the walk: ``analyze()`` itself runs on every adversarial string, as a page and as a field.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import pkgutil
import re
import time
from types import ModuleType

import pytest

import pipelines.indicators
from vigil.core.config import LimitsSettings
from vigil.core.prefilter import PatternSet
from vigil.core.records import RawPage

PACKAGES = ("pipelines", "crawlers", "vigil.core")


def _modules() -> list[ModuleType]:
    found = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            found.append(importlib.import_module(info.name))
    return found


MODULES = _modules()
SIZE = 100_000
SECONDS = 2.0  # CPU per pattern and input; a linear pattern needs milliseconds, a quadratic one minutes


def _patterns_in(value, name: str):
    if isinstance(value, re.Pattern):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _patterns_in(item, f"{name}[{key!r}]")
    elif isinstance(value, tuple | list):
        for n, item in enumerate(value):
            yield from _patterns_in(item, f"{name}[{n}]")


def all_patterns() -> dict[str, re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for module in MODULES:
        for name, value in vars(module).items():
            for label, pattern in _patterns_in(value, f"{module.__name__}.{name}"):
                found.setdefault(label, pattern)
    taxonomy = pipelines.indicators.default_taxonomy()
    for indicator in taxonomy.indicators:
        for n, pattern in enumerate(indicator.patterns):
            found[f"indicators.yaml:{indicator.id}[{n}]"] = pattern
        params = tuple(indicator.params.get("patterns", ()))
        for n, pattern in enumerate(pipelines.indicators._compiled_params_cached(indicator.id, params)):
            found[f"indicators.yaml:{indicator.id}.params[{n}]"] = pattern
    for field, value in vars(taxonomy.scope).items() if taxonomy.scope else ():
        if isinstance(value, re.Pattern):
            found[f"indicators.yaml:scope.{field}"] = value
    return found


def _repeat(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


ADVERSARIAL = {
    "letters": _repeat("a"),
    "digits": _repeat("7"),
    "spaces": _repeat(" "),
    "blanks": _repeat(" \t\u00a0"),
    "newlines": _repeat("\n"),
    "nested quotes": _repeat("\"'«‹„"),
    "tags and brackets": _repeat("<a (["),
    "digit separators": _repeat("1 - "),
    "dotted digits": _repeat("1."),
    "phone-like": _repeat("0612 ❤ 345 "),
    "dotted labels": "x@" + _repeat("a."),
    "spaced e-mail": "anna @ gmail" + _repeat(" ") + "dot",
    "url": "http://" + _repeat("a"),
    "words": _repeat("age telegram: whatsapp one 18-19 €1, "),
    "mojibake": _repeat("Ã¢â‚¬Å“"),
    "control and bidi": _repeat("\x00\x07\u202e\u2066\u200f"),
}

PATTERNS = all_patterns()


def test_the_walk_finds_the_patterns():
    assert len(PATTERNS) > 40
    assert "vigil.core.entities.emails.OBFUSCATED_RE" in PATTERNS
    assert "pipelines.scope._CLAUSE_END" in PATTERNS and "indicators.yaml:scope.negation_before" in PATTERNS
    assert any(name.startswith("indicators.yaml:") and ".params[" not in name for name in PATTERNS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_no_pattern_backtracks_catastrophically(name):
    pattern = PATTERNS[name]
    slow = {}
    for label, text in ADVERSARIAL.items():
        started = time.process_time()
        for _ in pattern.finditer(text):
            pass
        seconds = time.process_time() - started
        if seconds > SECONDS:
            slow[label] = round(seconds, 2)
    assert not slow, f"{name} is slow on: {slow}"


def test_the_hyperscan_prefilter_is_linear():
    """The one pass that picks the indicator patterns worth running (vigil/core/prefilter.py)."""
    taxonomy = pipelines.indicators.default_taxonomy()
    assert isinstance(taxonomy.prefilter, PatternSet)
    taxonomy.prefilter.candidates("warm up: compiling the database is paid once per process")
    slow = {}
    for label, text in ADVERSARIAL.items():
        started = time.process_time()
        taxonomy.prefilter.candidates(text)
        seconds = time.process_time() - started
        if seconds > SECONDS:
            slow[label] = round(seconds, 2)
    assert not slow, f"the prefilter is slow on: {slow}"


def _page(body: str, fields: dict[str, str] | None = None) -> RawPage:
    url = "http://127.0.0.1:8080/ad/1"
    return RawPage(
        profile_id="adversarial", job_id="job-1", url=url, canonical_url=url, final_url=url, status=200,
        content_type="text/html; charset=utf-8", page_type="ad", ad_id="1", country="NL", fields=fields or {},
        body=body, body_sha256=hashlib.sha256(body.encode()).hexdigest(), body_bytes=len(body),
    )  # fmt: skip


@pytest.fixture(scope="module")
def analyze():
    from pipelines.analysis import analyze

    analyze(_page("<p>Warm up: call 0612345678.</p>"))  # loads the models and the prefilter database
    return analyze


@pytest.mark.parametrize("label", sorted(ADVERSARIAL))
def test_analysis_of_an_adversarial_page_stays_within_its_budget(analyze, label):
    """The CPU budget is checked between stages, so one stage that is quadratic in the text (a
    regex written inline, a parser) would blow through it: a page of 100,000 blanks once cost
    30 s in ``clean_text``. Each page, as HTML and as a selector field, must stay close to it."""
    limit = 2 * LimitsSettings().analysis_seconds
    text = f"Call 0612345678 {ADVERSARIAL[label]} ok"  # words around it: a blank-only node is dropped
    markup = f"<html><body><h1>Ad</h1><div class='description'><p>{html.escape(text)}</p></div></body></html>"
    pages = {
        "html": _page(markup),
        "field": _page("<p>Ad</p>", {"title": text[:5000], "body": text}),
    }
    slow = {}
    for kind, page in pages.items():
        started = time.process_time()
        analyze(page)
        seconds = time.process_time() - started
        if seconds > limit:
            slow[kind] = round(seconds, 2)
    assert not slow, f"analysis of {label!r} took CPU seconds {slow} (limit {limit})"
