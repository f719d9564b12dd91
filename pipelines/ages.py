"""Ages stated in an ad ("19 yo", "age: 19", "19 años", "19 Jahre", "19 lat" ...).

A bare number is read as an age only next to an age word; "for 10 years" / "depuis 10 ans"
style durations are skipped. Kept ages lie in 10..79 so that minors (< 18) can be flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_NUM = r"(?P<age>[1-7][0-9])"
_AFTER = (
    r"y\.?\s?o\.?|y/o|yrs?\.?(?:\s*old)?|years?(?:[\s-]*old)|year[\s-]old|jr\.?|jahre?(?:\s*alt)?|j\.(?=\s)"
    r"|años|anos|ans|anni|jaar(?:\s*oud)?|lat(?:ka)?|ani|éves|let|лет|года|год|років|роки|рокiв|godina|vjeç"
)
_BEFORE = (
    r"age|aged|edad|alter|âge|age de|età|eta|leeftijd|wiek|vârsta|varsta|vârstă|idade|возраст|вік|i am|i'm|im"
    r"|ich bin|j'ai|tengo|ho|ik ben|mam|am|tenho|tinc"
)
_DURATION = re.compile(
    r"\b(?:for|since|over|than|depuis|seit|desde|hace|da|sinds|al|od|de|há|ago|experience|in)\s+(?:about\s+|around\s+|plus\s+de\s+|mehr\s+als\s+)?$",
    re.IGNORECASE,
)
AFTER_RE = re.compile(rf"(?<![\d.,/:$€£-]){_NUM}\s?(?:-\s?)?(?:{_AFTER})(?![^\W\d_])", re.IGNORECASE)
BEFORE_RE = re.compile(rf"(?<![^\W\d_])(?:{_BEFORE})\s*[:=\-]?\s*{_NUM}(?![\d.,'’\"/%$€£]|\s?(?:cm|kg|lbs?|min|h\b|hr|uur|euro|eur|usd|dollars?|\$))", re.IGNORECASE)


@dataclass(frozen=True)
class AgeMatch:
    start: int
    end: int
    age: int


def find_ages(text: str) -> Iterator[AgeMatch]:
    taken: list[tuple[int, int]] = []
    for regex in (AFTER_RE, BEFORE_RE):
        for match in regex.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            if _DURATION.search(text[max(0, match.start() - 30) : match.start()]):
                continue
            if regex is BEFORE_RE and not re.match(r"age|aged|edad|alter|âge|età|eta|leeftijd|wiek|v[âa]rst|idade|возраст|вік", match.group(0), re.IGNORECASE):
                following = text[match.end() : match.end() + 12].lower()
                if not re.match(r"\s*(?:,|\.|!|$|and|y |und|et |e |en |i )", following):
                    continue
            taken.append(match.span())
            yield AgeMatch(match.start(), match.end(), int(match.group("age")))
