"""Who an ad offers: stated ethnicity terms and the number of providers ("2 girls", "duo")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vigil.core.prefilter import PatternSet

ETHNICITIES: dict[str, tuple[str, ...]] = {
    "asian": ("asian", "asiatisch", "asiatische", "asiatique", "asiática", "asiatica", "aziatisch", "aziatische", "azjatka", "asiatica"),
    "latina": ("latina", "latino", "latijns", "latine", "hispanic", "hispana"),
    "ebony": ("ebony", "ebenholz", "d'ébène"),
    "black": ("black", "schwarze", "noire", "negra", "nera", "zwarte"),
    "white": ("white", "caucasian", "weiße", "blanche", "blanca", "bianca", "blanke"),
    "african": ("african", "afrikanisch", "africaine", "africana", "afrikaanse", "afrykanka"),
    "arab": ("arab", "arabic", "arabisch", "arabe", "árabe", "araba"),
    "indian": ("indian", "indisch", "indienne", "india"),
    "thai": ("thai", "thailändisch", "thaïlandaise", "tailandesa", "thaise"),
    "chinese": ("chinese", "chinesisch", "chinoise", "china girl", "chinees"),
    "japanese": ("japanese", "japanisch", "japonaise", "japonesa"),
    "korean": ("korean", "koreanisch", "coréenne", "coreana"),
    "filipina": ("filipina", "pinay"),
    "vietnamese": ("vietnamese", "vietnamesisch"),
    "russian": ("russian", "russisch", "russische", "russe", "rusa", "russa", "rosyjska"),
    "ukrainian": ("ukrainian", "ukrainisch", "ukrainienne", "ucraniana", "ucraina", "oekraïens", "ukrainka"),
    "romanian": ("romanian", "rumänisch", "roumaine", "rumana", "rumena", "roemeens", "rumunka", "româncă"),
    "bulgarian": ("bulgarian", "bulgarisch", "bulgare", "búlgara"),
    "hungarian": ("hungarian", "ungarisch", "hongroise", "húngara"),
    "polish": ("polish", "polnisch", "polonaise", "polaca", "pools", "polka"),
    "czech": ("czech", "tschechisch", "tchèque"),
    "brazilian": ("brazilian", "brasilianisch", "brésilienne", "brasileña", "brasiliana", "braziliaans", "brasileira"),
    "colombian": ("colombian", "kolumbianisch", "colombienne", "colombiana"),
    "venezuelan": ("venezuelan", "venezolana"),
    "dominican": ("dominican", "dominicana"),
    "cuban": ("cuban", "cubana", "kubanisch"),
    "puerto rican": ("puerto rican", "puertorriqueña"),
    "mexican": ("mexican", "mexicana"),
    "nigerian": ("nigerian", "nigerianisch", "nigériane"),
    "taiwanese": ("taiwanese",),
    "hawaiian": ("hawaiian",),
    "egyptian": ("egyptian",),
    "italian": ("italian", "italienisch", "italienne", "italiana", "italiaans"),
    "spanish": ("spanish", "spanisch", "espagnole", "española", "spaanse"),
    "mixed": ("mixed race", "mixed girl", "biracial", "mulatta", "mulata", "métisse"),
}
_TERM_TO_ETHNICITY = {term: name for name, terms in ETHNICITIES.items() for term in terms}
ETHNICITY_RE = re.compile(
    r"(?<![^\W\d_])(" + "|".join(sorted(map(re.escape, _TERM_TO_ETHNICITY), key=len, reverse=True)) + r")(?![^\W\d_])",
    re.IGNORECASE,
)
#: Terms that are also given names: capitalised, they name a person ("sunt Bianca"), not an ethnicity.
GIVEN_NAMES = frozenset({"bianca", "blanca", "india"})
_EXCLUSION_BEFORE = re.compile(r"(?:\bno|\bnot|\bnever|\bkeine?|\bpas\s+de|\bsin|\bniet|\bgeen)\s+(?:\w+\s+)?$", re.IGNORECASE)
# Applied with .match to the 20 characters after a term: \s{0,20} says so, and stays linear anywhere.
_EXCLUSION_AFTER = re.compile(r"\s{0,20}(?:men|guys|males|gentlemen|clients|only\s+men|männer|hommes|hombres|mannen)\b", re.IGNORECASE)
_NON_ETHNIC_AFTER = re.compile(r"\s{0,20}(?:hair|eyes|dress|lingerie|car|friday|book|card|list|ops|market|boots|stockings|tea|food)\b", re.IGNORECASE)

_COUNT_WORDS = {
    "two": 2, "2": 2, "twee": 2, "zwei": 2, "deux": 2, "dos": 2, "due": 2, "dwie": 2, "doua": 2, "două": 2, "duas": 2,
    "three": 3, "3": 3, "drie": 3, "drei": 3, "trois": 3, "tres": 3, "tre": 3, "trzy": 3, "trei": 3, "três": 3,
    "four": 4, "4": 4, "vier": 4, "quatre": 4, "cuatro": 4, "quattro": 4, "cztery": 4, "patru": 4, "quatro": 4,
    "five": 5, "5": 5, "vijf": 5, "fünf": 5, "cinq": 5, "cinco": 5, "cinque": 5, "pięć": 5, "cinci": 5,
    "six": 6, "6": 6, "several": 3, "mehrere": 3, "plusieurs": 3, "varias": 3, "diverse": 3, "meerdere": 3,
}
_GIRLS = (
    r"girls?|ladies|women|babes|models|chicks|escorts|meisjes|dames|vrouwen|mädchen|mädels|frauen|damen|filles|femmes"
    r"|chicas|mujeres|señoritas|ragazze|donne|dziewczyn[ay]?|dziewczęta|kobiety|fete|fete|femei|meninas|garotas|mulheres"
)
PROVIDERS_RE = re.compile(
    r"(?<![^\W\d_])(?P<count>" + "|".join(sorted(map(re.escape, _COUNT_WORDS), key=len, reverse=True)) + r")"
    r"\s?(?:new|hot|sexy|young|beautiful|nieuwe|neue|nouvelles|nuevas|nuove|nowe|noi|novas|different)?\s?(?:" + _GIRLS + r")(?![^\W\d_])",
    re.IGNORECASE,
)
DUO_RE = re.compile(r"(?<![^\W\d_])(?:duo|twins|2\s?girl|two[\s-]girl|bi[\s-]duo|doppel|trio)(?![^\W\d_])", re.IGNORECASE)


@dataclass(frozen=True)
class TermMatch:
    start: int
    end: int
    value: str


_ETHNICITY_FILTER = PatternSet([ETHNICITY_RE])
_PROVIDERS_FILTER = PatternSet([PROVIDERS_RE, DUO_RE])


def find_ethnicities(text: str) -> Iterator[TermMatch]:
    if not _ETHNICITY_FILTER.may_match(text):  # most ads name none: one fast pass instead of a slow one
        return
    for match in ETHNICITY_RE.finditer(text):
        term = match.group(1)
        if term[0].isupper() and term.lower() in GIVEN_NAMES and not term.isupper():
            continue
        if _EXCLUSION_BEFORE.search(text[max(0, match.start() - 25) : match.start()]):
            continue
        after = text[match.end() : match.end() + 20]
        if _EXCLUSION_AFTER.match(after) or _NON_ETHNIC_AFTER.match(after):
            continue
        yield TermMatch(match.start(), match.end(), _TERM_TO_ETHNICITY[match.group(1).lower()])


def find_providers(text: str) -> Iterator[TermMatch]:
    if not _PROVIDERS_FILTER.may_match(text):
        return
    for match in PROVIDERS_RE.finditer(text):
        yield TermMatch(match.start(), match.end(), str(_COUNT_WORDS[match.group("count").lower()]))
    for match in DUO_RE.finditer(text):
        yield TermMatch(match.start(), match.end(), "3" if match.group(0).lower() == "trio" else "2")


def provider_count(text: str) -> int | None:
    """The largest number of providers the ad offers, None when it does not say."""
    counts = [int(m.value) for m in find_providers(text)]
    return max(counts) if counts else None
