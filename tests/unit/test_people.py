"""Stated ages (many languages), ethnicity terms and the number of providers."""

import pytest

from pipelines.ages import find_ages
from pipelines.people import find_ethnicities, provider_count


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("sexy 19 yo girl", 19),
        ("19 y/o", 19),
        ("19 y.o.", 19),
        ("age 19", 19),
        ("Age: 25 Yrs Old", 25),
        ("I am 20 years old", 20),
        ("I'm 22years old,5'3", 22),
        ("a 21-year-old student", 21),
        ("tengo 19 años", 19),
        ("ich bin 19 Jahre alt", 19),
        ("Alter: 23", 23),
        ("j'ai 19 ans", 19),
        ("âge : 24", 24),
        ("ho 19 anni", 19),
        ("età: 20", 20),
        ("ik ben 19 jaar oud", 19),
        ("leeftijd: 22", 22),
        ("mam 19 lat", 19),
        ("wiek: 21", 21),
        ("am 19 ani", 19),
        ("vârsta: 20", 20),
        ("tenho 19 anos", 19),
        ("idade: 18", 18),
        ("мне 19 лет", 19),
        ("16yo fresh", 16),
    ],
)
def test_stated_ages(text, age):
    assert [m.age for m in find_ages(text)] == [age]


@pytest.mark.parametrize(
    "text",
    [
        "married for about 12 years",
        "depuis 10 ans dans le métier",
        "seit 15 Jahren",
        "desde hace 12 años",
        "available 24 hrs",
        "IM 5'5 weigh 130",
        "100% me",
        "Hr/250, 30 min - 80",
        "in business for 15 yrs",
    ],
)
def test_not_ages(text):
    assert list(find_ages(text)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sweet latina girl", ["latina"]),
        ("sexy ebony, Puerto Rican bombshell", ["ebony", "puerto rican"]),
        ("24 yrs old Taiwanese Girl", ["taiwanese"]),
        ("junge asiatische Frau", ["asian"]),
        ("belle jeune femme roumaine et brésilienne", ["romanian", "brazilian"]),
        ("NO BLACK MEN", []),
        ("no blacks", []),
        ("long black hair", []),
    ],
)
def test_ethnicities(text, expected):
    assert [m.value for m in find_ethnicities(text)] == expected


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("2girls available", 2),
        ("2 girls available", 2),
        ("3 new girls this week", 3),
        ("FIVE GIRLS ALL IN ONE ROOM", 5),
        ("duo with my friend", 2),
        ("zwei Mädchen", 2),
        ("deux filles", 2),
        ("dos chicas", 2),
        ("due ragazze", 2),
        ("twee meisjes", 2),
        ("I am alone", None),
        ("so many women gain weight", None),
    ],
)
def test_providers(text, count):
    assert provider_count(text) == count
