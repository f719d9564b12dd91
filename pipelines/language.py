"""Language of an ad with lingua, over a fixed set of languages; the page's hint breaks ties.

The detector is built once, lazily (loading its models costs time), for the languages Vigil's
sites use; restricting the set makes it faster and more accurate than detecting among all.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGUAGES = (
    Language.ENGLISH, Language.DUTCH, Language.GERMAN, Language.FRENCH, Language.SPANISH, Language.ITALIAN,
    Language.POLISH, Language.ROMANIAN, Language.PORTUGUESE, Language.RUSSIAN, Language.UKRAINIAN,
)
SAMPLE_CHARS = 300  # lingua's cost grows with the text; 300 characters name the language as well
_LETTERS_RE = re.compile(r"[^\W\d_]")
MIN_CHARS = 20


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*LANGUAGES).with_minimum_relative_distance(0.05).build()


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code (lower-case), the hint for too-short text, None when undecidable."""
    hint = hint.strip().lower()[:2] if hint and hint.strip() else None
    sample = " ".join(text[: 4 * SAMPLE_CHARS].split())[:SAMPLE_CHARS]
    if sum(1 for _ in islice(_LETTERS_RE.finditer(sample), MIN_CHARS)) < MIN_CHARS:
        return hint
    language = detector().detect_language_of(sample)
    if language is None:
        return hint
    return language.iso_code_639_1.name.lower()
