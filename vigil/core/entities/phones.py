"""Phone numbers, including obfuscated ones, normalised to E.164 with phonenumbers.

Candidate and validate. Ads hide numbers from scrapers: odd separators ("626❤757❤8225",
"702=555=1234", "[[315]]"), digits spelled out in many languages ("six one nine", glued as
"sevenfive3", mixed case "SeVeN"), teens, tens and magnitudes ("twentyone", "fourteen",
"2 thousand"), homophones ("to" = 2, "for" = 4, "oh" = 0, "ate" = 8), letters for digits ("2o9"),
emoji keycaps and fullwidth digits. The text is cut into digit-bearing *units*; number words are
composed into values ("twenty one" → 21, "5 hundred" → 500); adjacent units joined by short
non-alphanumeric gaps (one line break at most) form a *chain*; windows of a chain are tried,
longest first, and kept only when phonenumbers says the number is valid. A national number is read
in each candidate region in turn (see pipelines/regions.py); an explicit ``+`` or ``00`` prefix
is read only internationally.

Negative rules keep decoys out: dates and times, prices (a currency sign on one side only),
measurements (``5'4``, ``34D-23-35``), runs of consecutive or evenly spaced numbers (an age
selector "19 20 21 22 …", pagination), post and reference ids, numeric ids inside URLs, and digits
inside URLs or e-mail addresses (the caller excludes those spans).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from vigil.core.prefilter import PatternSet

DIGIT_WORDS: dict[int, tuple[str, ...]] = {
    0: ("zero", "zéro", "cero", "nul", "null", "nula"),
    1: ("one", "een", "eins", "ein", "un", "une", "uno", "jeden", "unu", "um"),
    2: ("two", "twee", "zwei", "zwo", "deux", "dos", "dós", "due", "dwa", "doi", "două", "dois", "două"),
    3: ("three", "drie", "drei", "trois", "tres", "três", "trés", "tre", "tré", "trzy", "trei"),
    4: ("four", "vier", "quatre", "cuatro", "quattro", "cztery", "patru", "quatro"),
    5: ("five", "vijf", "fünf", "fuenf", "funf", "cinq", "cinco", "cinque", "pięć", "piec", "cinci"),
    6: ("six", "zes", "sechs", "seis", "séis", "sei", "sześć", "szesc", "șase", "şase", "sase"),
    7: ("seven", "zeven", "sieben", "sept", "siete", "sette", "sete", "siedem", "șapte", "şapte", "sapte"),
    8: ("eight", "acht", "huit", "ocho", "otto", "osiem", "opt", "oito"),
    9: ("nine", "negen", "neun", "neuf", "nueve", "nove", "dziewięć", "dziewiec", "nouă", "noua"),
}
TEEN_WORDS: dict[int, tuple[str, ...]] = {
    10: ("ten", "tien", "zehn", "dix", "diez", "dieci", "dez", "dziesięć", "dziesiec", "zece"),
    11: ("eleven", "elf", "onze", "once", "undici", "jedenaście", "unsprezece"),
    12: ("twelve", "twaalf", "zwölf", "zwoelf", "douze", "doce", "dodici", "doze", "dwanaście", "doisprezece"),
    13: ("thirteen", "dertien", "dreizehn", "treize", "trece", "tredici", "treze", "trzynaście", "treisprezece"),
    14: ("fourteen", "veertien", "vierzehn", "quatorze", "catorce", "quattordici", "catorze", "czternaście", "paisprezece"),
    15: ("fifteen", "vijftien", "fünfzehn", "fuenfzehn", "quinze", "quince", "quindici", "piętnaście", "cincisprezece"),
    16: ("sixteen", "zestien", "sechzehn", "seize", "dieciséis", "dieciseis", "sedici", "dezesseis", "dezasseis", "szesnaście", "șaisprezece", "şaisprezece", "saisprezece"),
    17: ("seventeen", "zeventien", "siebzehn", "dixsept", "diecisiete", "diciassette", "dezessete", "dezassete", "siedemnaście", "șaptesprezece", "şaptesprezece", "saptesprezece"),
    18: ("eighteen", "achttien", "achtzehn", "dixhuit", "dieciocho", "diciotto", "dezoito", "osiemnaście", "optsprezece"),
    19: ("nineteen", "negentien", "neunzehn", "dixneuf", "diecinueve", "diciannove", "dezenove", "dezanove", "dziewiętnaście", "nouăsprezece", "nouasprezece"),
}
TENS_WORDS: dict[int, tuple[str, ...]] = {
    20: ("twenty", "twintig", "zwanzig", "vingt", "vingts", "veinte", "veinti", "venti", "vent", "vinte", "dwadzieścia", "douăzeci", "douazeci"),
    30: ("thirty", "dertig", "dreißig", "dreissig", "trente", "treinta", "trenta", "trent", "trinta", "trzydzieści", "treizeci"),
    40: ("forty", "fourty", "veertig", "vierzig", "quarante", "cuarenta", "quaranta", "quarant", "quarenta", "czterdzieści", "patruzeci"),
    50: ("fifty", "vijftig", "fünfzig", "fuenfzig", "cinquante", "cincuenta", "cinquanta", "cinquant", "cinquenta", "pięćdziesiąt", "cincizeci"),
    60: ("sixty", "zestig", "sechzig", "soixante", "sesenta", "sessanta", "sessant", "sessenta", "sześćdziesiąt", "șaizeci", "saizeci"),
    70: ("seventy", "zeventig", "siebzig", "setenta", "settanta", "settant", "siedemdziesiąt", "șaptezeci", "saptezeci"),
    80: ("eighty", "tachtig", "achtzig", "ochenta", "ottanta", "ottant", "oitenta", "osiemdziesiąt", "optzeci", "quatrevingt", "quatrevingts"),
    90: ("ninety", "negentig", "neunzig", "noventa", "novanta", "novant", "dziewięćdziesiąt", "nouăzeci", "nouazeci"),
}
MAGNITUDE_WORDS: dict[int, tuple[str, ...]] = {
    # "cientos"/"centos"/"sute" follow a digit word ("seis|cientos", "trei sute"); irregular hundreds
    # are whole words ("quinientos", "trezentos", "trzysta")
    100: ("hundred", "hundert", "honderd", "cent", "cents", "cien", "ciento", "cientos", "cientas", "cento", "centos",
          "centas", "cem", "sto", "sută", "suta", "sute"),
    200: ("duzentos", "duzentas", "dwieście", "dwiescie"),
    300: ("trezentos", "trezentas", "trzysta"),
    400: ("czterysta",),
    500: ("quinientos", "quinientas", "quinhentos", "quinhentas", "pięćset", "piecset"),
    600: ("sześćset", "szescset"),
    700: ("siedemset",),
    800: ("osiemset",),
    900: ("dziewięćset", "dziewiecset"),
    1000: ("thousand", "tausend", "duizend", "mille", "mila", "mil", "tysiąc", "tysiac", "tysiące", "tysiace",
           "tysięcy", "tysiecy", "mie", "mii"),
}
HOMOPHONES: dict[str, str] = {"oh": "0", "won": "1", "to": "2", "too": "2", "for": "4", "fore": "4", "ate": "8"}
# misspelled digit words seen in ads that hide numbers ("sx1nne.3svn3"); read like digit words
MISSPELLINGS: dict[int, tuple[str, ...]] = {
    0: ("zro", "zeero"), 3: ("thre",), 5: ("fiv", "fyv", "fyve"), 6: ("sx", "siks", "sixx"),
    7: ("svn", "sevn", "sevin", "sevan"), 8: ("eigt", "eigth", "eght"), 9: ("nne", "nin", "nien", "nyne"),
}
# digits that stand for letters inside number words ("s3ven", "f1ve", "z3r0"), tried in order
LEET: tuple[dict[str, str], ...] = (
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"},
    {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"},
)
CONNECTORS = ("and", "und", "en", "ën", "et", "y", "e", "și", "şi", "si")
# German and Dutch say the unit first ("einundzwanzig"): their tens word before a digit word is two
# numbers ("siebzig eins" is 70, 1), where "seventy one" is 71
UNITS_FIRST_TENS = frozenset(
    w for value in range(20, 100, 10) for w in TENS_WORDS[value] if w.endswith(("zig", "ßig", "ssig", "tig"))
)

_DIGIT_VALUE = {word: digit for digit, words in DIGIT_WORDS.items() for word in words}
_WORD_VALUE = {word: str(digit) for word, digit in _DIGIT_VALUE.items()}
_LEXICON: dict[str, tuple[str, int]] = {}
for _connector in CONNECTORS:
    _LEXICON[_connector] = ("and", 0)
for _word, _value in HOMOPHONES.items():
    _LEXICON[_word] = ("homophone", int(_value))
for _kind, _table in (("magnitude", MAGNITUDE_WORDS), ("tens", TENS_WORDS), ("teen", TEEN_WORDS)):
    for _value, _words in _table.items():
        for _word in _words:
            _LEXICON[_word] = (_kind, _value)
for _word, _value in _DIGIT_VALUE.items():
    _LEXICON[_word] = ("digit", _value)
_MISSPELLED = frozenset(w for words in MISSPELLINGS.values() for w in words if w not in _LEXICON)
for _value, _words in MISSPELLINGS.items():
    for _word in _words:
        _LEXICON.setdefault(_word, ("digit", _value))
_MAX_WORD = max(map(len, _LEXICON))

# an indefinite article before a magnitude is "one": "a hundred", Romanian "o sută", "o mie"
_ARTICLE_RE = re.compile(r"(?<![^\W\d_])[ao][ \u00a0]$", re.IGNORECASE)
_DIGITLIKE = "\\d\u2460-\u2468\u24ea\u2776-\u277e\u2780-\u2788\u278a-\u2792"

GLUED_RE = re.compile(r"(?<![^\W_])(?=[^\W_]*\d)(?=[^\W_]*[^\W\d_])[^\W_]{2,80}(?![^\W_])")
UNIT_RE = re.compile(
    r"(?P<keycap>[0-9]\ufe0f?\u20e3)"
    rf"|(?P<digits>(?:(?<![^\W\d_])[OoIl|]{{1,2}}(?=[{_DIGITLIKE}]))?[{_DIGITLIKE}](?:[{_DIGITLIKE}OoIl|]*[{_DIGITLIKE}])?(?:[OoIl|](?![^\W\d_]))?)"
    r"|(?P<word>(?<![^\W\d_])[^\W\d_]+(?:-[^\W\d_]+)*(?![^\W\d_]))"
)
_DIGIT_RE = re.compile(r"\d")
_LETTER_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})
_PLAIN_GAP = set(" -./()\u00a0\t")
_FORBIDDEN_GAP = set(",:%€£¥&+\r")
_CURRENCY = "$€£¥"
_DATE_RE = re.compile(r"(?<!\d)(\d{1,4})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{2}|\d{4})(?!\d)")
_TIME_RE = re.compile(r"\d{1,2}\s?[:h]\s?\d{2}")
_DECOY_RE = re.compile(
    r"(?<![\w'])[3-7]\s?(?:'|’|′|ft\b|feet\b)\s?(?:1[01]|\d)(?:\s?(?:\"|”|″|''|in\b))?"  # height 5'4"
    r"|(?<![\w.-])(?:[23]\d|4[0-6])\s?[A-Ka-k]{0,3}\s?[-/]\s?(?:[12]\d|3[0-5])\s?[-/]\s?(?:[23]\d|4[0-6])(?![\w.-])"  # 34D-23-35
    r"|(?<!\w)\d{1,3}(?:[.,]\d{1,2})?\s?(?:cm|kg|lbs?|mm|ml|m²|sqm|km|mi)\b",  # 165 cm
    re.IGNORECASE,
)
_DECOY_FILTER = PatternSet([_DECOY_RE])  # one Hyperscan pass instead of the regex at every position
_ID_SUFFIX = r"(?:id|no\.?|nr\.?|number|num|#|n[°º]|code)"
_ID_CUE_RE = re.compile(
    r"(?:(?<![^\W\d_])(?:post(?:ing)?|ad|ads|listing|ref(?:erence)?|order|item|advert|anzeigen?|annonce|anuncio|annuncio"
    rf"|ogłoszeni[ae]|anun[țţt]|invoice|ticket)\s*{_ID_SUFFIX}?"
    rf"|(?<![^\W\d_])(?:product|user|member|profile|photo|image|video|reply|report|views?|hits?)\s*(?:{_ID_SUFFIX}|:)"
    r"|(?<![^\W\d_])id)\s*[:#.=]?\s*#?\s*$",
    re.IGNORECASE,
)
_PLATFORM_BEFORE_ID_RE = re.compile(r"(?:wechat|weixin|line|kik|snap\w*|telegram|signal|skype|viber|whats\s?app)\s*$", re.IGNORECASE)
_URLISH_RE = re.compile(
    r"://|www\.|[a-z0-9-]\.(?:com|net|org|info|biz|co|io|de|nl|fr|uk|es|it|pl|ro|ru|eu|xxx|us|ca|be|ch|at)\b"
    r"|[?&][a-z_]+=|\.(?:html?|php|aspx?|jpe?g|png|gif)\b",
    re.IGNORECASE,
)
MIN_NATIONAL_DIGITS = 8
MIN_INTERNATIONAL_DIGITS = 7
MAX_DIGITS = 15
MAX_CHAIN_UNITS = 24
# regions whose trunk prefix 0 is usually left out when a number is written ("11 91234-5678")
TRUNK_PREFIX_OPTIONAL = frozenset({"BR"})

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
    homophone: bool = False


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    kind: str  # digits | digit | teen | tens | magnitude | homophone | and
    value: int | str
    obfuscated: bool


@lru_cache(maxsize=4096)
def _segment(run: str) -> tuple[tuple[str, int], ...] | None:
    """Split a glued run of number words ("sevenfive", "einundzwanzig") into lexicon words
    (word, length); None when it does not split wholly. Longest words are tried first."""
    lowered = run.lower()
    best: dict[int, tuple[tuple[str, int], ...] | None] = {len(lowered): ()}
    for i in range(len(lowered) - 1, -1, -1):
        best[i] = None
        if lowered[i] == "-":
            rest = best.get(i + 1)
            best[i] = rest if rest is not None and i > 0 else None
            continue
        for length in range(min(_MAX_WORD, len(lowered) - i), 0, -1):
            word = lowered[i : i + length]
            if word in _LEXICON and best.get(i + length) is not None:
                best[i] = ((word, length),) + best[i + length]  # type: ignore[operator]
                break
    return best[0]


@lru_cache(maxsize=4096)
def _glued(run: str) -> tuple[tuple[str, int, int], ...] | None:
    """Pieces (word or "#" for a digit, start, length) of a run of letters and digits that splits
    wholly into digits and number words, the words possibly in leetspeak ("zerosvn4", "53v3n",
    "f1v39", "0n3"); None when it does not split. Longer words are preferred."""
    lowered = run.lower()
    size = len(lowered)
    best: dict[int, tuple[tuple[str, int, int], ...] | None] = {size: ()}
    for i in range(size - 1, -1, -1):
        best[i] = _glued_at(lowered, i, best)
    pieces = best[0]
    if not pieces or all(word == "#" for word, _, _ in pieces):
        return None
    return pieces


def _glued_at(lowered: str, i: int, best: dict) -> tuple[tuple[str, int, int], ...] | None:
    """The best split of lowered[i:] given the splits after i, by rank: a number word (longest
    first; "tre1" is "tre" and 1, not "trei"), a word in leetspeak ("53v3n", "thre3"), a misspelled
    word ("sx", "nne"), a digit."""
    limit = min(_MAX_WORD, len(lowered) - i)
    for length in range(limit, 0, -1):
        piece, rest = lowered[i : i + length], best.get(i + length)
        if rest is not None and piece.isalpha() and piece in _LEXICON and piece not in _MISSPELLED:
            return ((piece, i, length),) + rest
    for length in range(limit, 2, -1):
        piece, rest = lowered[i : i + length], best.get(i + length)
        if rest is None or piece.isalpha() or not any(ch.isalpha() for ch in piece):
            continue
        for table in LEET:
            word = "".join(table.get(ch, ch) for ch in piece)
            if word in _LEXICON and word not in _MISSPELLED and _LEXICON[word][0] in ("digit", "teen", "tens"):
                return ((word, i, length),) + rest
    for length in range(limit, 0, -1):
        piece, rest = lowered[i : i + length], best.get(i + length)
        if rest is not None and piece in _MISSPELLED:
            return ((piece, i, length),) + rest
    if lowered[i].isdigit() and best.get(i + 1) is not None:
        return (("#", i, 1),) + best[i + 1]
    return None


def _tokens(text: str) -> Iterator[_Token]:
    glued: list[tuple[int, tuple[tuple[str, int, int], ...]]] = []
    if _DIGIT_RE.search(text):
        for match in GLUED_RE.finditer(text):
            pieces = _glued(match.group(0))
            if pieces:
                glued.append((match.start(), pieces))
    position = 0
    for start, pieces in glued:
        yield from _plain_tokens(text, position, start)
        digits: list[tuple[int, str]] = []
        for word, offset, length in pieces:
            if word == "#":
                digits.append((start + offset, str(unicodedata.digit(text[start + offset]))))
                continue
            if digits:
                yield _Token(digits[0][0], digits[-1][0] + 1, "digits", "".join(d for _, d in digits), True)
                digits = []
            kind, value = _LEXICON[word]
            yield _Token(start + offset, start + offset + length, kind, value, True)
        if digits:
            yield _Token(digits[0][0], digits[-1][0] + 1, "digits", "".join(d for _, d in digits), True)
        position = start + pieces[-1][1] + pieces[-1][2]
    yield from _plain_tokens(text, position, len(text))


def _plain_tokens(text: str, begin: int, stop: int) -> Iterator[_Token]:
    for match in UNIT_RE.finditer(text, begin, stop):
        kind = match.lastgroup
        raw = match.group(0)
        start = match.start()
        if kind == "keycap":
            yield _Token(start, match.end(), "digits", raw[0], True)
        elif kind == "digits":
            if raw.isascii() and raw.isdigit():
                yield _Token(start, match.end(), "digits", raw, False)
                continue
            ascii_digits = "".join(
                str(unicodedata.digit(ch)) if not ch.isascii() else ch for ch in raw.translate(_LETTER_DIGITS)
            )
            yield _Token(start, match.end(), "digits", ascii_digits, True)
        elif len(raw) <= 200:
            parts = _segment(raw)
            if parts:
                yield from _word_tokens(text, start, parts)
            elif "-" in raw:
                offset = start
                for piece in raw.split("-"):
                    pieces = _segment(piece)
                    if pieces:
                        yield from _word_tokens(text, offset, pieces)
                    offset += len(piece) + 1


def _word_tokens(text: str, start: int, parts: tuple[tuple[str, int], ...]) -> Iterator[_Token]:
    """Tokens of a run of letters that splits wholly into number words."""
    offset = start
    glued = len(parts) > 1
    real = any(_LEXICON[w][0] not in ("homophone", "and") for w, _ in parts)
    for word, length in parts:
        while text[offset] == "-":
            offset += 1
        word_kind, value = _LEXICON[word]
        if not (glued and word_kind == "homophone" and not real):
            yield _Token(offset, offset + length, word_kind, value, True)
        offset += length


def _tight(text: str, a: _Token, b: _Token) -> bool:
    gap = text[a.end : b.start]
    return len(gap) <= 3 and not gap.strip(" -\u00a0")


def _teen(text: str, tokens: list[_Token], i: int) -> tuple[int, int]:
    """(value, tokens used) of a teen at tokens[i], with French "dix-sept" … "dix-neuf"."""
    t = tokens[i]
    if (
        t.value == 10 and i + 1 < len(tokens) and tokens[i + 1].kind == "digit" and int(tokens[i + 1].value) >= 7
        and text[t.start : t.end].lower() == "dix" and _tight(text, t, tokens[i + 1])
    ):
        return 10 + int(tokens[i + 1].value), 2
    return int(t.value), 1


def _below_hundred(text: str, tokens: list[_Token], i: int) -> tuple[int, int] | None:
    """(value, tokens used) of a spelled number under 100 starting at tokens[i]."""
    t = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) and _tight(text, t, tokens[i + 1]) else None
    if t.kind == "digit" and t.value == 4 and nxt and nxt.kind == "tens" and nxt.value == 20:
        t, i = _Token(t.start, nxt.end, "tens", 80, True), i + 1  # quatre-vingt
        nxt = tokens[i + 1] if i + 1 < len(tokens) and _tight(text, tokens[i], tokens[i + 1]) else None
        used = 2
    else:
        used = 1
    if t.kind == "tens":
        value = int(t.value)
        if nxt and nxt.kind == "and" and i + 2 < len(tokens) and _tight(text, nxt, tokens[i + 2]):
            if tokens[i + 2].kind == "digit":
                return value + int(tokens[i + 2].value), used + 2
            if tokens[i + 2].kind == "teen" and value == 60:
                return value + _teen(text, tokens, i + 2)[0], used + 1 + _teen(text, tokens, i + 2)[1]
        if nxt and nxt.kind == "digit" and int(nxt.value) > 0 and text[t.start : t.end].lower() not in UNITS_FIRST_TENS:
            return value + int(nxt.value), used + 1
        if nxt and nxt.kind == "teen" and value in (60, 80):
            teen, teen_used = _teen(text, tokens, i + 1)
            return value + teen, used + teen_used
        return value, used
    if t.kind == "teen":
        return _teen(text, tokens, i)
    if t.kind == "digit":
        if (
            nxt and nxt.kind == "and" and i + 2 < len(tokens) and tokens[i + 2].kind == "tens"
            and _tight(text, nxt, tokens[i + 2]) and int(t.value) > 0
        ):
            return int(tokens[i + 2].value) + int(t.value), 3
        return int(t.value), 1
    return None


def _after_magnitude(text: str, tokens: list[_Token], j: int, limit: int) -> tuple[int, int] | None:
    """(value, tokens used) of the number under ``limit`` that a magnitude takes after it: words
    ("hundred forty five") or one or two digits ("3 hundred 5" → 305)."""
    t = tokens[j]
    if t.kind == "digits":
        return (int(t.value), 1) if len(str(t.value)) <= 2 and str(t.value).isascii() and int(t.value) < limit else None
    if t.kind in ("digit", "tens", "teen"):
        return _below_hundred(text, tokens, j)
    return None


def _compose(text: str, tokens: list[_Token]) -> Iterator[_Unit]:
    """Units from tokens: number words become values ("seven hundred two" → 702,
    "2 thousand" → 2000, "vingt et un" → 21); connectors alone are dropped."""
    i = 0
    n = len(tokens)
    while i < n:
        t = tokens[i]
        if t.kind == "and":
            i += 1
            continue
        if t.kind == "homophone":
            yield _Unit(t.start, t.end, str(t.value), True, word=True, homophone=True)
            i += 1
            continue
        if t.kind == "digits":
            head: tuple[int, int] | None = (int(t.value), 1) if len(str(t.value)) <= 3 else None
        elif t.kind == "magnitude":
            head = (1, 0)
        else:
            head = _below_hundred(text, tokens, i)
        if head is None:
            yield _Unit(t.start, t.end, str(t.value), t.obfuscated)
            i += 1
            continue
        value, used = head
        j = i + used
        start = t.start
        if t.kind == "magnitude" and _ARTICLE_RE.search(text, max(0, start - 3), start):
            start = _ARTICLE_RE.search(text, max(0, start - 3), start).start()  # "a hundred", "o sută"
        last = tokens[j - 1] if used else t
        digits = str(t.value) if t.kind == "digits" and not used == 0 else str(value)
        composed = False
        if j < n and tokens[j].kind == "magnitude" and (
            used == 0 or (_tight(text, last, tokens[j]) and tokens[j].value in (100, 1000))
        ):
            magnitude = int(tokens[j].value)
            value *= magnitude
            last = tokens[j]
            j += 1
            composed = True
            if magnitude == 1000 and j < n and _tight(text, last, tokens[j]):
                lead = _after_magnitude(text, tokens, j, 10)
                if lead and j + lead[1] < n and tokens[j + lead[1]].kind == "magnitude" and tokens[j + lead[1]].value == 100:
                    value += lead[0] * 100
                    last = tokens[j + lead[1]]
                    j += lead[1] + 1
                elif j < n and tokens[j].kind == "magnitude" and 100 <= int(tokens[j].value) < 1000:
                    value += int(tokens[j].value)  # "mil quinientos"
                    last = tokens[j]
                    j += 1
            if j + 1 < n and tokens[j].kind == "and" and _tight(text, last, tokens[j]) and _tight(text, tokens[j], tokens[j + 1]):
                last = tokens[j]
                j += 1
            if j < n and _tight(text, last, tokens[j]):
                rest = _after_magnitude(text, tokens, j, 100)
                if rest:
                    value += rest[0]
                    last = tokens[j + rest[1] - 1]
                    j += rest[1]
            digits = str(value)
        if t.kind == "digits" and not composed:
            yield _Unit(t.start, t.end, str(t.value), t.obfuscated)
            i += 1
            continue
        yield _Unit(start, last.end, digits, True, word=True)
        i = max(j, i + 1)


@lru_cache(maxsize=8)
def _units(text: str) -> tuple[_Unit, ...]:
    """The units of a text; cached because enrichment reads the same text for phones and ages."""
    return tuple(_compose(text, list(_tokens(text))))


def _joinable(gap: str, words: bool) -> bool:
    """Whether two units belong to one number. A comma ends a number between digit runs ("5, 6")
    but is a spoken pause between spelled digits ("zero seven nine one one, one two three");
    one line break may split a number (an HTML element), a blank line may not."""
    if words and gap.strip() == ",":
        return True
    if len(gap) > 8 or gap.count("\n") > 1 or any(ch.isalnum() or ch in _FORBIDDEN_GAP for ch in gap):
        return False
    core = "".join(gap.split())
    return len(core) <= 4 or len(set(core)) <= 2


def _price_units(text: str, units: Sequence[_Unit]) -> set[int]:
    """Indexes of units that carry a currency sign on one side and none on the other."""
    prices = set()
    for index, unit in enumerate(units):
        before = text[unit.start - 1] if unit.start else " "
        after = text[unit.end] if unit.end < len(text) else " "
        if before in _CURRENCY and not (unit.start > 1 and text[unit.start - 2].isdigit()):
            prices.add(index)
        elif after in _CURRENCY and not (unit.end + 1 < len(text) and text[unit.end + 1].isdigit()):
            prices.add(index)
    return prices


def _chains(text: str, exclude: Iterable[tuple[int, int]]) -> Iterator[list[_Unit]]:
    excluded = sorted(exclude)
    excluded += [m.span() for m in _DECOY_RE.finditer(text)] if _DECOY_FILTER.may_match(text) else []
    units = _units(text)
    prices = _price_units(text, units) if any(ch in text for ch in _CURRENCY) else set()
    chain: list[_Unit] = []
    for index, unit in enumerate(units):
        if index in prices or any(s <= unit.start < e for s, e in excluded):
            if chain:
                yield chain
                chain = []
            continue
        if chain and not _joinable(text[chain[-1].end : unit.start], unit.word and chain[-1].word):
            yield chain
            chain = []
        chain.append(unit)
        if len(chain) > MAX_CHAIN_UNITS:
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


@lru_cache(maxsize=4096)
def _valid_e164(number_text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(number_text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _international(digits: str) -> str | None:
    """+digits, also with a trunk 0 kept after the country code ("+49 (0)151 …")."""
    e164 = _valid_e164("+" + digits, None)
    if e164:
        return e164
    for cc_length in (1, 2, 3):
        if digits[cc_length : cc_length + 1] == "0" and phonenumbers.region_code_for_country_code(int(digits[:cc_length])) != "ZZ":
            return _valid_e164("+" + digits[:cc_length] + digits[cc_length + 1 :], None)
    return None


def parse_digits(digits: str, international: bool, regions: Regions) -> str | None:
    """E.164 of a digit string if phonenumbers finds it valid, else None. A national number is
    read in each of ``regions`` in turn; the first region where it is valid wins. A number that
    starts with a candidate region's country code but no prefix ("31612345678") is read
    internationally when it is valid in no region nationally."""
    return _read((digits,), international, _as_regions(regions))[0]


def _read(candidates: Sequence[str], international: bool, regions: tuple[str, ...]) -> tuple[str | None, int]:
    """(E.164, index of the candidate read) of the first valid reading of the candidate digit
    strings in the first region where one is valid: a region outranks a candidate."""
    national = []
    for index, digits in enumerate(candidates):
        if digits.startswith("00") and not international:
            e164 = _international(digits[2:]) if MIN_INTERNATIONAL_DIGITS <= len(digits) - 2 <= MAX_DIGITS else None
            if e164:
                return e164, index
            continue
        if international:
            e164 = _international(digits) if MIN_INTERNATIONAL_DIGITS <= len(digits) <= MAX_DIGITS else None
            if e164:
                return e164, index
            continue
        if MIN_NATIONAL_DIGITS <= len(digits) <= MAX_DIGITS:
            national.append((index, digits))
    for region in regions:
        needs_zero = _national_prefix(region) == "0" and region not in TRUNK_PREFIX_OPTIONAL
        for index, digits in national:
            if needs_zero and not digits.startswith("0"):
                continue
            e164 = _valid_e164(digits, region)
            if e164:
                return e164, index
    for index, digits in national:
        if len(digits) >= 10 and not digits.startswith("0"):
            for region in regions:
                code = str(phonenumbers.country_code_for_region(region))
                if code != "1" and digits.startswith(code):
                    e164 = _valid_e164("+" + digits, None)
                    if e164:  # a shared country code counts ("+44 7911…" is Guernsey's, read for GB)
                        return e164, index
    return None, -1


def _is_date(raw: str) -> bool:
    """A plausible calendar date: the whole window (12/05/16), or a part of it with a
    four-digit year (2016-05-12, 12.05.2016); or a time (10:30, 10h30)."""
    if _TIME_RE.fullmatch(raw):
        return True
    for match in _DATE_RE.finditer(raw):
        a, _, b, c = match.groups()
        whole = match.span() == (0, len(raw))
        if len(a) == 4:
            if 1900 <= int(a) <= 2099 and 1 <= int(b) <= 12 and 1 <= int(c) <= 31 and len(c) <= 2:
                return True
        elif len(a) <= 2 and 1 <= int(a) <= 31 and 1 <= int(b) <= 31 and min(int(a), int(b)) <= 12:
            if len(c) == 4 and 1900 <= int(c) <= 2099:
                return True
            if whole and len(c) == 2:
                return True
    return False


def _has_plus(text: str, start: int) -> bool:
    return "+" in text[max(0, start - 2) : start]


def _is_run(text: str, window: list[_Unit]) -> bool:
    """Numbers in steps of one or of a round amount ("19 20 21", "1 2 3 4 5 6", "150 200 250"), or
    four in small equal steps ("34 36 38 40"), separated by white space or bars: a selector,
    pagination or a price list, not a number."""
    run = 1
    for a, b, c in zip(window, window[1:], window[2:], strict=False):
        plain = all(not u.word and u.digits.isdigit() for u in (a, b, c)) and all(
            not text[x.end : y.start].strip(" \t\n\u00a0|·•") for x, y in ((a, b), (b, c))
        )
        if not plain:
            run = 1
            continue
        step1, step2 = int(b.digits) - int(a.digits), int(c.digits) - int(b.digits)
        if step1 != step2 or step1 == 0:
            run = 1
            continue
        run += 1
        multi = min(len(a.digits), len(b.digits), len(c.digits)) >= 2
        round_step = abs(step1) == 1 or step1 % 5 == 0
        if multi and (round_step or (run >= 3 and abs(step1) <= 10)):
            return True
        if not multi and abs(step1) == 1 and run >= 4:
            return True
    return False


def _is_id(text: str, start: int) -> bool:
    before = text[max(0, start - 30) : start]
    cue = _ID_CUE_RE.search(before)
    if cue and not _PLATFORM_BEFORE_ID_RE.search(before[: cue.start()]):
        return True
    token_start = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
    token_end = start
    while token_end < len(text) and not text[token_end].isspace() and token_end - start < 80:
        token_end += 1
    return bool(_URLISH_RE.search(text, token_start, token_end))


def find_phones(text: str, region: Regions = None, exclude: Iterable[tuple[int, int]] = ()) -> Iterator[PhoneMatch]:
    """Valid phone numbers in ``text``; ``region`` (an ISO country, or candidates in order) reads
    national numbers."""
    region = _as_regions(region)
    for chain in _chains(text, exclude):
        if sum(len(u.digits) for u in chain) < MIN_INTERNATIONAL_DIGITS:
            continue
        i = 0
        blocked_until = -1
        while i < len(chain):
            found = None
            first = chain[i]
            prefixed = _has_plus(text, first.start) or first.digits.startswith("00")
            if i <= blocked_until and not prefixed:
                i += 1
                continue
            for j in range(len(chain) - 1, i - 1, -1):
                window = chain[i : j + 1]
                digits = "".join(u.digits for u in window)
                if len(digits) < MIN_INTERNATIONAL_DIGITS:
                    break
                if len(digits) > MAX_DIGITS + 2:
                    continue
                core = _core(window)
                if not core:
                    continue
                international = _has_plus(text, window[0].start)
                candidates = [core, window] if core is not window else [window]
                readings = ["".join(u.digits for u in c) for c in candidates]
                e164, which = _read(readings, international, region)
                if not e164:
                    continue
                kept = candidates[which]
                start, end = kept[0].start, kept[-1].end
                raw = text[start:end]
                if _is_date(raw) or _is_run(text, kept) or _is_id(text, start):
                    continue
                gaps = "".join(text[a.end : b.start] for a, b in zip(kept, kept[1:], strict=False))
                obfuscated = any(u.obfuscated for u in kept) or any(ch not in _PLAIN_GAP for ch in gaps)
                if _has_plus(text, start):
                    start = text.rindex("+", max(0, start - 2), start)
                else:
                    while start and text[start - 1] in "([{" and start > kept[0].start - 3:
                        start -= 1
                found = PhoneMatch(start, end, e164, text[start:end], obfuscated)
                i = j + 1
                break
            if found:
                yield found
            else:
                if prefixed:
                    blocked_until = i + 3
                i += 1


def _core(window: list[_Unit]) -> list[_Unit]:
    """The window without homophones at its edges ("text to 702…", "…1234 for"), except a
    leading "oh" (a spoken 0: "oh seven nine…"); the window itself when there are none."""
    start, end = 0, len(window)
    while start < end and window[start].homophone and window[start].digits != "0":
        start += 1
    while end > start and window[end - 1].homophone:
        end -= 1
    if (start, end) == (0, len(window)):
        return window
    return window[start:end]


def normalize_phone(value: str, region: Regions = None) -> str | None:
    """E.164 of a phone number written any way the extractor understands, else None."""
    units = _units(value)
    if not units:
        return None
    digits = "".join(u.digits for u in units)
    international = value.lstrip().startswith("+")
    return parse_digits(digits, international, region)


def spelled_numbers(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end, value) of numbers from 10 to 99 written in words ("nineteen", "twenty-one",
    "einundzwanzig", "dix-neuf"), for readers of ages; digits and single digit words are left out."""
    for unit in _units(text):
        if unit.word and not unit.homophone and unit.digits.isdigit() and 10 <= int(unit.digits) <= 99:
            yield unit.start, unit.end, int(unit.digits)
