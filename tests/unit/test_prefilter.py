"""The Hyperscan prefilter: a superset of the regexes that match, so skipping the rest changes
nothing (checked against running every pattern on the project's labelled texts)."""

import dataclasses
import json
import re
import time
from pathlib import Path

import pytest

from pipelines import ages, people
from pipelines.indicators import (
    Findings,
    _compiled_params,
    _params_prefilter,
    default_taxonomy,
    match_indicators,
)
from vigil.core.prefilter import PatternSet

DATA = Path(__file__).resolve().parents[1] / "eval" / "data"


EXAMPLES = ["Sexy Asian girls, call now", "2 hot girls available", "Hi, I am 22 years old", "latina and ebony duo", "Payment via BTC only", "nur Krypto"]


def labelled_texts() -> list[str]:
    texts = EXAMPLES + [json.loads(line)["text"] for name in ("ads", "decoys") for line in (DATA / f"{name}.jsonl").open(encoding="utf-8")]
    return texts + [t for t in (DATA / "llm_ads.txt").read_text(encoding="utf-8").splitlines() if t.strip()]


def test_candidates_are_caseless_and_unicode_aware():
    patterns = PatternSet([r"\bneues\s+mädchen\b", r"\bfresh\b", r"(?<![^\W\d_])duo(?![^\W\d_])", r"\d{2}+\s?eur"])
    assert patterns.candidates("Ein NEUES MÄDCHEN, FRESH!") == {0, 1}
    assert patterns.candidates("bi duo, 150 EUR") == {2, 3}
    assert patterns.candidates("nothing here") == set()


def test_patterns_hyperscan_cannot_read_are_always_run():
    patterns = PatternSet([r"(?(1)a|b)", re.compile(r"x  y", re.VERBOSE), r"plain"])
    assert patterns.always == {0, 1}
    assert patterns.candidates("nothing") == {0, 1}
    assert patterns.candidates("plain") == {0, 1, 2}


def test_hostile_text_is_scanned_in_linear_time():
    patterns = default_taxonomy().prefilter
    patterns.candidates("compiled on first use")
    started = time.process_time()
    assert patterns.candidates("a" * 200_000 + "\ud800" + "young " * 20_000)
    assert time.process_time() - started < 1.0


def test_prefiltered_indicators_equal_running_every_pattern():
    taxonomy = default_taxonomy()
    unfiltered = dataclasses.replace(taxonomy, prefilter=None)
    for text in labelled_texts():
        findings = Findings(text=text, title=text[:60], language="en")
        assert match_indicators(findings, taxonomy) == match_indicators(findings, unfiltered), text


@pytest.mark.parametrize(
    ("prefiltered", "regexes", "finder"),
    [
        (ages._AGES_FILTER, (*ages.RANGE_RES, ages.AFTER_RE, ages.BEFORE_RE), ages.find_ages),
        (people._ETHNICITY_FILTER, (people.ETHNICITY_RE,), people.find_ethnicities),
        (people._PROVIDERS_FILTER, (people.PROVIDERS_RE, people.DUO_RE), people.find_providers),
    ],
)
def test_extractors_skip_only_texts_none_of_their_regexes_match(prefiltered, regexes, finder):
    found = 0
    for text in labelled_texts():
        if any(regex.search(text) for regex in regexes):
            assert prefiltered.may_match(text), text
        found += bool(list(finder(text)))
    assert found


def test_crypto_payment_patterns_are_prefiltered_without_loss():
    crypto = next(i for i in default_taxonomy().indicators if i.id == "crypto_only_payment")
    regexes = _compiled_params(crypto)
    for text in labelled_texts():
        if any(regex.search(text) for regex in regexes):
            assert _params_prefilter(regexes).may_match(text), text
    assert "crypto_only_payment" in {hit.id for hit in match_indicators(Findings(text="Payment via BTC only"))}
