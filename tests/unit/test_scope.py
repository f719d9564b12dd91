"""Indicator scope: negation in every supported language, disclaimers and names never escalate,
a stated minor still does."""

import pytest

from pipelines.indicators import Findings, match_indicators
from pipelines.risk import score
from vigil.core.records import Span

# (language, text that fires, the same thing denied, indicator)
NEGATION_CASES = [
    ("en", "Recruitment fee 300 EUR.", "We charge no recruitment fee.", "recruitment_fee"),
    ("en", "New in town!", "I am not new in town.", "movement_language"),
    ("en", "Agency fee payable on arrival.", "No agency fee.", "recruitment_fee"),
    ("en", "Underage girls available.", "No minors.", "minor_terms"),
    ("nl", "Bemiddelingskosten 200 euro.", "Geen bemiddelingskosten.", "recruitment_fee"),
    ("nl", "Nieuw in de stad.", "Ik ben niet nieuw in de stad.", "movement_language"),
    ("nl", "Minderjarig meisje.", "Geen minderjarigen.", "minor_terms"),
    ("de", "Vermittlungsgebühr 400 €.", "Keine Vermittlungsgebühr.", "recruitment_fee"),
    ("de", "Neu in der Stadt.", "Ich bin nicht neu in der Stadt.", "movement_language"),
    ("de", "Minderjährige Mädchen.", "Keine Minderjährigen!", "minor_terms"),
    ("fr", "Frais de recrutement 300 €.", "Pas de frais de recrutement.", "recruitment_fee"),
    ("fr", "Nouvelle en ville.", "Je ne suis pas nouvelle en ville.", "movement_language"),
    ("fr", "Mineures disponibles.", "Interdit aux moins de 18 ans.", "minor_terms"),
    ("es", "Gastos de gestión 100 euros.", "Sin gastos de gestión.", "recruitment_fee"),
    ("es", "Nueva en la ciudad.", "No soy nueva en la ciudad.", "movement_language"),
    ("es", "Chicas menores de edad.", "Prohibido a menores de edad.", "minor_terms"),
    ("it", "Tassa di iscrizione 50 euro.", "Nessuna tassa di iscrizione.", "recruitment_fee"),
    ("it", "Nuova in città.", "Non sono nuova in città.", "movement_language"),
    ("it", "Minorenne disponibile.", "Vietato ai minorenni.", "minor_terms"),
    ("pl", "Opłata rekrutacyjna 200 zł.", "Bez opłaty rekrutacyjnej.", "recruitment_fee"),
    ("pl", "Nowa w mieście.", "Nie jestem nowa w mieście.", "movement_language"),
    ("pl", "Nieletnia dziewczyna.", "Żadnych nieletnich.", "minor_terms"),
    ("ro", "Taxă de recrutare 100 lei.", "Fără taxă de recrutare.", "recruitment_fee"),
    ("ro", "Nouă în oraș.", "Nu sunt nouă în oraș.", "movement_language"),
    ("ro", "Minoră disponibilă.", "Interzis minorilor, fără minori.", "minor_terms"),
    ("pt", "Taxa de inscrição 50 euros.", "Sem taxa de inscrição.", "recruitment_fee"),
    ("pt", "Nova na cidade.", "Não sou nova na cidade.", "movement_language"),
    ("pt", "Menina menor de idade.", "Proibido menor de idade.", "minor_terms"),
]


def ids(text: str, ages=()) -> set[str]:
    return {hit.id for hit in match_indicators(Findings(text=text, ages=ages))}


@pytest.mark.parametrize(("language", "fires", "denied", "indicator"), NEGATION_CASES)
def test_negation_in_every_language(language, fires, denied, indicator):
    assert indicator in ids(fires), (language, fires)
    assert indicator not in ids(denied), (language, denied)


@pytest.mark.parametrize(
    "text",
    [
        "This site is only for persons 18 or older and not considered a minor.",
        "We do not allow links to minors.",
        "Any suspected underage use will be reported to law enforcement.",
        "I will not expose minors to this material.",
        "Vietato ai minorenni.",
        "Handyman wanted for minor store repairs.",
        "Hi, I'm Lolita, 24 years old, call me.",
        "Minors are not allowed on this site.",
        "Minderjährige verboten. Nur für Erwachsene.",
        "Réservé aux adultes, interdit aux mineurs.",
        "Sólo para mayores de edad; prohibido a los menores.",
        "Tylko dla dorosłych, nieletnim wstęp wzbroniony.",
    ],
)
def test_disclaimers_other_senses_and_names_do_not_escalate(text):
    assert not score(match_indicators(Findings(text=text)))[2], text


@pytest.mark.parametrize(
    "text",
    [
        "Underage girls available tonight.",
        "Young minor girls for fun, discreet.",
        "No limits, underage girls.",
        "Lolita girls, new every week.",
        "Chicas menores de edad disponibles. Sólo para mayores de edad.",
        "Minorenne disponibile, chiamami.",
    ],
)
def test_offers_of_minors_still_escalate(text):
    assert score(match_indicators(Findings(text=text)))[2], text


def test_a_stated_minor_age_escalates_next_to_a_disclaimer():
    text = "I am 16. This site is only for persons 18 or older."
    ages = ((16, Span(text="I am 16", start=0, end=7)),)
    assert score(match_indicators(Findings(text=text, ages=ages)))[2]


@pytest.mark.parametrize(
    ("text", "escalates"),
    [
        ("She is still a minor, discreet.", True),
        ("The person advertised is a minor.", True),
        ("If you are a minor, please leave this site.", False),
        ("I am a minor league player.", False),
        ("This is a minor repair job.", False),
    ],
)
def test_minor_as_a_statement_about_the_person(text, escalates):
    assert score(match_indicators(Findings(text=text)))[2] is escalates


def escalates(text: str) -> bool:
    """Escalation of a text with its stated ages read as enrichment reads them."""
    from pipelines.ages import find_ages

    ages = tuple((m.age, Span(text=text[m.start : m.end], start=m.start, end=m.end)) for m in find_ages(text))
    return score(match_indicators(Findings(text=text, ages=ages)))[2]


@pytest.mark.parametrize(
    "text",
    [
        "I do not see minors. Age: 24.",
        "minors will not be served",
        "Report any ad that involves minors or human trafficking.",
        "Deze site is alleen voor volwassenen van 18 jaar of ouder. Minderjarigen niet toegestaan.",
        "Niet voor minderjarigen. 21 jaar.",
        "Das Angebot richtet sich ausschließlich an Volljährige. Minderjährige haben keinen Zutritt.",
        "Je ne reçois pas de mineurs. 25 ans.",
        "No atiendo a menores de edad. 24 años.",
        "Ciao sono Lolita, 23 anni. Vietato l'accesso ai minori di 18 anni.",
        "Serwis wyłącznie dla osób pełnoletnich. Nie przyjmuję nieletnich.",
        "Site interzis minorilor. Nu accept minori. 23 ani.",
        "Proibida a entrada de menores de idade. Não atendo menores. 22 anos.",
    ],
)
def test_refusals_and_disclaimers_in_every_language_do_not_escalate(text):
    assert not escalates(text), text


@pytest.mark.parametrize(
    "text",
    [
        "No limits underage girls.",
        "Zero limits, minor girls available.",
        "Keine Tabus minderjährige Mädchen.",
        "Girls 16-19 wanted for modelling.",
        "Meisjes van 16 tot 19 jaar gezocht.",
        "Mädchen 15-18 Jahre.",
        "Filles 16-18 ans.",
        "Chicas de 16 a 20 años.",
        "Chica de 17 años, nueva en la ciudad.",
        "Ragazze tra 16 e 19 anni.",
        "Dziewczyny 16-19 lat.",
        "Fete 16-20 ani.",
        "Garotas de 16 a 19 anos.",
        "I'm 17, new in town. Only for persons 18 or older.",
    ],
)
def test_offers_ranges_and_ages_under_18_escalate_in_every_language(text):
    assert escalates(text), text
