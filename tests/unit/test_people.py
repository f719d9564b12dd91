"""Stated ages (many languages), ethnicity terms and the number of providers."""

import pytest

from pipelines.ages import find_ages
from pipelines.indicators import Findings, match_indicators
from pipelines.people import find_ethnicities, provider_count
from vigil.core.records import Span


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
        ("I'm Jessica, 21 years young", 21),
        ("20 yrs young and sweet", 20),
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
        "10-15 years of experience",
        "for 10 to 15 years",
        "de 18 a 25 años de experiencia",
        "25-30 Jahre Berufserfahrung",
        "girls 18-25 € per hour",
        "open 10-18 h",
        "men 20-30 min",
    ],
)
def test_not_ages(text):
    assert list(find_ages(text)) == []


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("Hostesses aged 18-25 wanted", [18, 25]),
        ("Girls 18-25 wanted for hostess jobs", [18, 25]),
        ("women from 18 to 25 years old", [18, 25]),
        ("18 to 25 years", [18, 25]),
        ("jeunes femmes entre 18 et 24 ans", [18, 24]),
        ("jeunes femmes 18-24 ans pour shootings", [18, 24]),
        ("Frauen 18-24 Jahre", [18, 24]),
        ("Alter zwischen 18 und 35", [18, 35]),
        ("chicas de 18 a 25 años", [18, 25]),
        ("dziewczyny od 18 do 25 lat", [18, 25]),
        ("fete între 18 și 25 de ani", [18, 25]),
        ("meisjes tussen 18 en 25 jaar", [18, 25]),
    ],
)
def test_age_ranges_keep_both_bounds(text, ages):
    assert [m.age for m in find_ages(text)] == ages


def test_a_range_starting_under_18_asks_for_minors():
    text = "girls 16-19 wanted"
    ages = tuple((m.age, Span(text=text[m.start : m.end], start=m.start, end=m.end)) for m in find_ages(text))
    assert [age for age, _ in ages] == [16, 19]
    hits = match_indicators(Findings(text=text, ages=ages))
    assert any(h.id == "stated_age_under_18" and h.escalate for h in hits)


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
