"""Stated ages: labelled fields, NN yo/yrs/years, words and ranges, in every supported language."""

import pytest

from pipelines.ages import find_ages


def ages(text: str) -> list[int]:
    return [m.age for m in find_ages(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Age: 19", [19]),
        ("AGE • 21", [21]),
        ("Age 19.", [19]),
        ("19yo latina", [19]),
        ("20yrs", [20]),
        ("23 y/o", [23]),
        ("I am nineteen years old", [19]),
        ("twenty-one years young", [21]),
        ("Age: twenty two", [22]),
        ("Leeftijd: 24", [24]),
        ("ik ben negentien jaar", [19]),
        ("ich bin neunzehn Jahre alt", [19]),
        ("einundzwanzig Jahre", [21]),
        ("j'ai dix-neuf ans", [19]),
        ("tengo diecinueve años", [19]),
        ("veintidós años", [22]),
        ("ho diciannove anni", [19]),
        ("mam 24 lata", [24]),
        ("mam dziewiętnaście lat", [19]),
        ("am 22 de ani", [22]),
        ("am nouăsprezece ani", [19]),
        ("tenho dezenove anos", [19]),
        ("Возраст: 25", [25]),
        ("girls eighteen to twenty five", [18, 25]),
        ("sixteen years old girl", [16]),
        ("I'm nineteen :) call me", [19]),
        ("I'm 21 ;-)", [21]),
        ("I'm 30 minutes away", []),
        ("Chica de 17 años", [17]),
        ("fată de 19 ani", [19]),
        ("lucrez de 10 ani aici", []),
    ],
)
def test_stated_ages(text, expected):
    assert ages(text) == expected


def test_spans_of_spelled_ages_are_exact():
    text = "Hi, I'm nineteen years old"
    [match] = find_ages(text)
    assert text[match.start : match.end] == "nineteen years old"


@pytest.mark.parametrize("text", ["for ten years", "twenty minutes", "call twenty four seven", "I have 2 kids"])
def test_numbers_that_are_not_ages(text):
    assert ages(text) == []
