"""Phone numbers, including obfuscated ones, normalised to E.164 with phonenumbers.

Ads hide numbers from scrapers: odd separators ("626❤757❤8225"), digits spelled out in many
languages ("six one nine"), letters for digits ("2o9"), emoji keycaps and fullwidth digits. The
text is cut into digit-bearing *units* (digit runs, keycaps, number words); adjacent units joined
by short non-alphanumeric gaps form a *chain*; windows of a chain are tried, longest first, and
kept only when phonenumbers says the number is valid. A national number is read in each candidate
region in turn (see pipelines/regions.py) and the first region where it is valid wins. Dates, and
digits inside URLs or e-mail addresses, are not candidates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

DIGIT_WORDS: dict[int, tuple[str, ...]] = {
    0: ("zero", "zéro", "cero", "nul", "null", "nula"),
    1: ("one", "een", "eins", "un", "une", "uno", "jeden", "unu", "um"),
    2: ("two", "twee", "zwei", "zwo", "deux", "dos", "due", "dwa", "doi", "două", "dois"),
    3: ("three", "drie", "drei", "trois", "tres", "três", "tre", "trzy", "trei"),
    4: ("four", "vier", "quatre", "cuatro", "quattro", "cztery", "patru", "quatro"),
    5: ("five", "vijf", "fünf", "fuenf", "funf", "cinq", "cinco", "cinque", "pięć", "piec", "cinci"),
    6: ("six", "zes", "sechs", "seis", "sei", "sześć", "szesc", "șase", "şase", "sase"),
    7: ("seven", "zeven", "sieben", "sept", "siete", "sette", "sete", "siedem", "șapte", "şapte", "sapte"),
    8: ("eight", "acht", "huit", "ocho", "otto", "osiem", "opt", "oito"),
    9: ("nine", "negen", "neun", "neuf", "nueve", "nove", "dziewięć", "dziewiec", "nouă", "noua"),
}
_WORD_VALUE = {word: str(digit) for digit, words in DIGIT_WORDS.items() for word in words}
_DIGITLIKE = "\\d\u2460-\u2468\u24ea\u2776-\u277e\u2780-\u2788\u278a-\u2792"
_WORDS = "|".join(sorted(map(re.escape, _WORD_VALUE), key=len, reverse=True))

UNIT_RE = re.compile(
    r"(?P<keycap>[0-9]\ufe0f?\u20e3)"
    rf"|(?P<digits>(?:(?<![^\W\d_])[OoIl|](?=[{_DIGITLIKE}]))?[{_DIGITLIKE}](?:[{_DIGITLIKE}OoIl|]*[{_DIGITLIKE}])?(?:[Oo](?![^\W\d_]))?)"
    rf"|(?P<word>(?<![^\W\d_])(?i:{_WORDS})(?![^\W\d_]))"
)
_LETTER_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})
_PLAIN_GAP = set(" -./()\u00a0\t")
_FORBIDDEN_GAP = set(",;:%$€£¥=\n\r")
_DATE_RE = re.compile(r"\d{1,4}\s?[./-]\s?\d{1,2}\s?[./-]\s?\d{1,4}|\d{1,2}\s?[:h]\s?\d{2}")
_YEAR_DATE_RE = re.compile(r"(?:19|20)\d{2}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}")
MIN_NATIONAL_DIGITS = 8
MIN_INTERNATIONAL_DIGITS = 7
MAX_DIGITS = 15

Regions = str | Sequence[str] | None


@dataclass(frozen=True)
class PhoneMatch:
    start: int
    end: int
    e164: str
    raw: str
    obfuscated: bool


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    digits: str
    obfuscated: bool
    word: bool = False


def _units(text: str) -> Iterator[_Unit]:
    for match in UNIT_RE.finditer(text):
        kind = match.lastgroup
        raw = match.group(0)
        if kind == "keycap":
            yield _Unit(match.start(), match.end(), raw[0], True)
        elif kind == "word":
            yield _Unit(match.start(), match.end(), _WORD_VALUE[raw.lower()], True, word=True)
        else:
            ascii_digits = "".join(
                str(unicodedata.digit(ch)) if not ch.isascii() else ch for ch in raw.translate(_LETTER_DIGITS)
            )
            yield _Unit(match.start(), match.end(), ascii_digits, not raw.isascii() or not raw.isdigit())


def _joinable(gap: str, words: bool) -> bool:
    """Whether two units belong to one number. A comma ends a number between digit runs ("5, 6")
    but is a spoken pause between spelled digits ("zero seven nine one one, one two three")."""
    if words and gap.strip() == ",":
        return True
    if len(gap) > 6 or any(ch.isalnum() or ch in _FORBIDDEN_GAP for ch in gap):
        return False
    return len(gap.strip()) <= 3


def _chains(text: str, exclude: Iterable[tuple[int, int]]) -> Iterator[list[_Unit]]:
    excluded = sorted(exclude)
    chain: list[_Unit] = []
    for unit in _units(text):
        if any(s <= unit.start < e for s, e in excluded):
            continue
        if chain and not _joinable(text[chain[-1].end : unit.start], unit.word and chain[-1].word):
            yield chain
            chain = []
        chain.append(unit)
        if len(chain) > 24:
            yield chain
            chain = []
    if chain:
        yield chain


@lru_cache(maxsize=64)
def _national_prefix(region: str) -> str | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return metadata.national_prefix if metadata else None


def _as_regions(regions: Regions) -> tuple[str, ...]:
    if not regions:
        return ()
    if isinstance(regions, str):
        regions = (regions,)
    return tuple(dict.fromkeys(r.strip().upper() for r in regions if r and r.strip()))


def _valid_e164(number_text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(number_text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_digits(digits: str, international: bool, regions: Regions) -> str | None:
    """E.164 of a digit string if phonenumbers finds it valid, else None. A national number is
    read in each of ``regions`` in turn; the first region where it is valid wins."""
    if digits.startswith("00") and not international:
        digits, international = digits[2:], True
    minimum = MIN_INTERNATIONAL_DIGITS if international else MIN_NATIONAL_DIGITS
    if not minimum <= len(digits) <= MAX_DIGITS:
        return None
    if international:
        return _valid_e164("+" + digits, None)
    for region in _as_regions(regions):
        if _national_prefix(region) == "0" and not digits.startswith("0"):
            continue
        e164 = _valid_e164(digits, region)
        if e164:
            return e164
    return None


def _has_plus(text: str, start: int) -> bool:
    return "+" in text[max(0, start - 2) : start]


def find_phones(text: str, region: Regions = None, exclude: Iterable[tuple[int, int]] = ()) -> Iterator[PhoneMatch]:
    """Valid phone numbers in ``text``; ``region`` (an ISO country, or candidates in order) reads
    national numbers."""
    region = _as_regions(region)
    for chain in _chains(text, exclude):
        i = 0
        while i < len(chain):
            found = None
            for j in range(len(chain) - 1, i - 1, -1):
                window = chain[i : j + 1]
                digits = "".join(u.digits for u in window)
                if len(digits) < MIN_INTERNATIONAL_DIGITS:
                    break
                start, end = window[0].start, window[-1].end
                raw = text[start:end]
                if _DATE_RE.fullmatch(raw) or _YEAR_DATE_RE.search(raw):
                    continue
                international = _has_plus(text, start)
                e164 = parse_digits(digits, international, region)
                if e164:
                    gaps = "".join(text[a.end : b.start] for a, b in zip(window, window[1:], strict=False))
                    obfuscated = any(u.obfuscated for u in window) or any(ch not in _PLAIN_GAP for ch in gaps)
                    if international:
                        start = text.rindex("+", max(0, start - 2), start)
                    elif start and text[start - 1] == "(":
                        start -= 1
                    found = PhoneMatch(start, end, e164, text[start:end], obfuscated)
                    i = j + 1
                    break
            if found:
                yield found
            else:
                i += 1


def normalize_phone(value: str, region: Regions = None) -> str | None:
    """E.164 of a phone number written any way the extractor understands, else None."""
    units = list(_units(value))
    if not units:
        return None
    digits = "".join(u.digits for u in units)
    international = value.lstrip().startswith("+")
    return parse_digits(digits, international, region)
