"""A weak signal that an ad's text was written by a large language model, fully offline.

Compression as a perplexity proxy (ZipPy, Thinkst 2023, the ``thinkst-zippy`` package): text
that a compressor primed with LLM-written prose encodes cheaply shares that prose's word choice
and phrasing. ZipPy re-compresses its whole corpus for every sample (40-70 ms an ad); here the
compressor is primed once with the last 32 KiB of ZipPy's shipped corpus as a zlib preset
dictionary and copied per ad, so a score costs about a millisecond. The score is the ratio of the
ad's compressed size with that dictionary to its size without one: lower means closer to LLM
prose. It is only computed for English text long enough to judge (the corpus is English), and it
is never a verdict: the indicator that reads it has a low weight (docs/extraction.md gives its
precision and recall).
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache

MIN_WORDS = 40
MAX_CHARS = 2000
DICTIONARY_BYTES = 32768
LEVEL = 6
_CLEAN_RE = re.compile(r"[^0-9A-Za-z,.() \n]")
_SPACES_RE = re.compile(r"[ \t]+")


def _clean(text: str) -> str:
    """ZipPy's normalisation: plain ASCII words and punctuation, single spaces."""
    return _CLEAN_RE.sub("", _SPACES_RE.sub(" ", text))


@lru_cache(maxsize=1)
def _primed() -> zlib._Compress:
    """A raw-deflate compressor primed with the corpus, copied per ad; the unprimed size is a
    one-shot ``zlib.compress`` with the same level, window and memory level."""
    from importlib.resources import files

    corpus = files("zippy").joinpath("ai-generated.txt").read_text(encoding="utf-8")
    dictionary = _clean(re.sub(r"\n+", "\n", corpus)).encode()[-DICTIONARY_BYTES:]
    return zlib.compressobj(
        LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, zlib.Z_DEFAULT_STRATEGY, dictionary
    )


def llm_likeness(text: str, language: str | None) -> float | None:
    """Compressed size primed with LLM prose / unprimed size (lower: more LLM-like), or None
    when the text is not English or too short to judge."""
    if (language or "").lower()[:2] != "en" or text.count(" ") < MIN_WORDS:
        return None
    sample = _clean(text[:MAX_CHARS]).encode()
    primed = _primed().copy()
    with_corpus = len(primed.compress(sample) + primed.flush())
    alone = len(zlib.compress(sample, LEVEL, -zlib.MAX_WBITS))
    return with_corpus / alone if alone else None
