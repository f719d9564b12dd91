"""Every entity and indicator pattern on long adversarial inputs (issue 12): none may backtrack
catastrophically. Each compiled pattern of the extraction modules (found by walking their
module-level names, so a new pattern is covered without editing this file) and each pattern of
indicators.yaml runs ``finditer`` over 100,000-character strings made of repeated separators,
long digit runs, nested quotes and brackets, and near-misses of what the patterns look for.
"""

from __future__ import annotations

import re
import time
from types import ModuleType

import pytest

import pipelines.ages
import pipelines.indicators
import pipelines.language
import pipelines.locations
import pipelines.near_duplicates
import pipelines.people
import pipelines.prices
import pipelines.text
import vigil.core.entities
import vigil.core.entities.emails
import vigil.core.entities.handles
import vigil.core.entities.onions
import vigil.core.entities.phones
import vigil.core.entities.urls
import vigil.core.entities.wallets

MODULES: tuple[ModuleType, ...] = (
    vigil.core.entities,
    vigil.core.entities.emails,
    vigil.core.entities.handles,
    vigil.core.entities.onions,
    vigil.core.entities.phones,
    vigil.core.entities.urls,
    vigil.core.entities.wallets,
    pipelines.ages,
    pipelines.indicators,
    pipelines.language,
    pipelines.locations,
    pipelines.near_duplicates,
    pipelines.people,
    pipelines.prices,
    pipelines.text,
)
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
    return found


def _repeat(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


ADVERSARIAL = {
    "letters": _repeat("a"),
    "digits": _repeat("7"),
    "spaces": _repeat(" "),
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
    "control and bidi": _repeat("\x00\x07\u202e\u2066\u200f"),
}

PATTERNS = all_patterns()


def test_the_walk_finds_the_patterns():
    assert len(PATTERNS) > 40
    assert "vigil.core.entities.emails.OBFUSCATED_RE" in PATTERNS
    assert any(name.startswith("indicators.yaml:") for name in PATTERNS)


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
