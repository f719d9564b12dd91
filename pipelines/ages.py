"""Ages stated in an ad ("19 yo", "age: 19", "21 years young", "19 años", "19 Jahre", "19 lat" ...).

A bare number is read as an age only next to an age word; "for 10 years" / "depuis 10 ans"
style durations are skipped. Kept ages lie in 10..79 so that minors (< 18) can be flagged.
Recruitment ads state age ranges ("aged 18-25", "entre 18 et 24 ans", "girls 18-25"): both
bounds are kept, so a range that starts under 18 asks for minors and escalates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vigil.core.entities.phones import spelled_numbers
from vigil.core.prefilter import PatternSet

_NUM = r"(?P<age>[1-7][0-9])"
_AFTER = (
    r"y\.?\s?o\.?|y/o|yrs?\.?(?:\s*(?:old|young))?|years?(?:[\s-]*(?:old|young))|year[\s-]old|jr\.?|jahre?(?:\s*alt)?|j\.(?=\s)"
    r"|años|anos|ans|anni|jaar(?:\s*oud)?|lat(?:ka|a)?|(?:de\s+)?ani|éves|let|лет|года|год|років|роки|рокiв|godina|vjeç"
)
_BEFORE = (
    r"age|aged|edad|alter|âge|age de|età|eta|leeftijd|wiek|vârsta|varsta|vârstă|idade|возраст|вік|i am|i'm|im"
    r"|ich bin|j'ai|tengo|ho|ik ben|mam|am|tenho|tinc"
)
_DURATION = re.compile(
    r"\b(?:for|since|over|than|depuis|seit|desde|hace|da|sinds|al|od|de|há|ago|experience|in)\s+(?:about\s+|around\s+|plus\s+de\s+|mehr\s+als\s+)?$",
    re.IGNORECASE,
)
_NOT_EXPERIENCE = (
    r"(?!\s+(?:of\s+|de\s+|d'|di\s+|an\s+)?(?:experience|exp\b|ago|experiencia|expérience|esperienza|erfahrung"
    r"|ervaring|doświadczenia|experien[țt][ăa]|experiência|berufserfahrung))"
)
AFTER_RE = re.compile(
    rf"(?<![\d.,/:$€£-]){_NUM}\s?(?:-\s?)?(?:{_AFTER})(?![^\W\d_]){_NOT_EXPERIENCE}", re.IGNORECASE
)
_RANGE = (
    r"(?P<low>[1-7][0-9])\s?(?:[-–—]|\s(?:to|and|bis|und|à|a|et|y|e|en|tot|do|i|și|şi|si|al)\s)\s?(?P<high>[1-7][0-9])"
)
_RANGE_FROM = r"(?:between|entre|zwischen|tra|tussen|între|od|from|de|van|von|da)\s+"
_NOT_AFTER_RANGE = r"(?![.,]?\d|\s?[%$€£:])"
_AGE_NOUN = r"age[sd]?|edad|alter|âge|età|eta|leeftijd|wiek|v[âa]rst[aă]|idade|возраст|вік"
_PEOPLE = (
    r"girls|women|ladies|females|boys|men|males|models|hostesses|dancers|candidates|chicas|mujeres|señoritas"
    r"|mädchen|frauen|damen|filles|femmes|ragazze|donne|dziewczyny|kobiety|fete|femei|meiden|meisjes|vrouwen"
    r"|dames|garotas|mulheres"
)
RANGE_RES = (
    re.compile(
        rf"(?:(?<![^\W\d_]){_RANGE_FROM})?(?<![\d.,/:$€£-]){_RANGE}\s?(?:{_AFTER}|years?|jahren|de\s+ani)"
        rf"(?![^\W\d_]){_NOT_EXPERIENCE}",
        re.IGNORECASE,
    ),
    re.compile(rf"(?<![^\W\d_])(?:{_AGE_NOUN})\s*[:=\-]?\s*(?:{_RANGE_FROM})?{_RANGE}{_NOT_AFTER_RANGE}", re.IGNORECASE),
    re.compile(
        rf"(?<![^\W\d_])(?:{_PEOPLE})\s+\(?{_RANGE}{_NOT_AFTER_RANGE}"
        r"(?!\s?(?:h|hrs?|hours?|uur|uhr|stunden?|min|cm|kg|eur|euro|usd|am|pm)(?![^\W\d_]))",
        re.IGNORECASE,
    ),
)
BEFORE_RE = re.compile(rf"(?<![^\W\d_])(?:{_BEFORE})\s*[:=\-•|·–]?\s*{_NUM}(?![\d'’\"/%$€£]|[.,]\d|\s?(?:cm|kg|lbs?|min|h\b|hr|uur|euro|eur|usd|dollars?|\$))", re.IGNORECASE)


@dataclass(frozen=True)
class AgeMatch:
    start: int
    end: int
    age: int


# "de"/"di" after a person is an age ("chica de 17 años", "fată de 19 ani", "ragazza di 20 anni"),
# after anything else a duration ("lucrez de 10 ani")
_PERSON_OF = re.compile(
    r"(?<![^\W\d_])(?:chica|chico|niña|niño|mujer|señorita|muchacha|jovencita|joven|fille|femme|gamine|fată|fata"
    r"|femeie|tânără|tanara|garota|menina|moça|moca|mulher|rapariga|novinha|ragazza|ragazzina|donna|girl)\s+(?:de|di)\s+$",
    re.IGNORECASE,
)


def _is_duration(text: str, start: int) -> bool:
    before = text[max(0, start - 30) : start]
    return bool(_DURATION.search(before)) and not _PERSON_OF.search(before)


def _with_digits(text: str) -> tuple[str, list[int]]:
    """The text with spelled numbers written as digits ("nineteen" → "19"), and for each position
    of that text its position in the original, so matches map back to exact spans."""
    spelled = list(spelled_numbers(text))
    if not spelled:
        return text, []
    parts: list[str] = []
    origin: list[int] = []
    position = 0
    for start, end, value in spelled:
        parts.append(text[position:start])
        origin.extend(range(position, start))
        parts.append(str(value))
        origin.extend([start] * (len(str(value)) - 1) + [end - 1])
        position = end
    parts.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return "".join(parts), origin


def find_ages(text: str) -> Iterator[AgeMatch]:
    """Stated ages, with spans into ``text``; spelled ages ("nineteen years old") included."""
    shadow, origin = _with_digits(text)
    for match in _find_ages(shadow):
        if origin:
            yield AgeMatch(origin[match.start], origin[match.end - 1] + 1, match.age)
        else:
            yield match


_AGES_FILTER = PatternSet([*RANGE_RES, AFTER_RE, BEFORE_RE])


def _find_ages(text: str) -> Iterator[AgeMatch]:
    if not _AGES_FILTER.may_match(text):  # most texts state no age: one fast pass instead of several
        return
    taken: list[tuple[int, int]] = []
    for regex in RANGE_RES:
        for match in regex.finditer(text):
            low, high = int(match.group("low")), int(match.group("high"))
            if low >= high or any(s < match.end() and match.start() < e for s, e in taken):
                continue
            if _is_duration(text, match.start()):
                continue
            taken.append(match.span())
            yield AgeMatch(match.start(), match.end(), low)
            yield AgeMatch(match.start(), match.end(), high)
    for regex in (AFTER_RE, BEFORE_RE):
        for match in regex.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            if _is_duration(text, match.start()):
                continue
            if regex is BEFORE_RE and not re.match(r"age|aged|edad|alter|âge|età|eta|leeftijd|wiek|v[âa]rst|idade|возраст|вік", match.group(0), re.IGNORECASE):
                following = text[match.end() : match.end() + 12].lower()
                if not re.match(r"\s*(?:[^\w\s\-/+]|$|and|y |und|et |e |en |i )", following):
                    continue
            taken.append(match.span())
            yield AgeMatch(match.start(), match.end(), int(match.group("age")))
