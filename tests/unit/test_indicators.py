"""Indicator taxonomy: validation at load, matching, co-occurrence, escalation and risk."""

import copy

import pytest
import yaml

from pipelines.indicators import (
    TAXONOMY_PATH,
    Findings,
    TaxonomyError,
    default_taxonomy,
    load_taxonomy,
    match_indicators,
    parse_taxonomy,
)
from pipelines.risk import score
from vigil.core.entities import find_entities
from vigil.core.records import IndicatorHit, Span


def raw_taxonomy() -> dict:
    return yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))


def hits_for(text: str, **findings) -> dict[str, IndicatorHit]:
    return {hit.id: hit for hit in match_indicators(Findings(text=text, **findings))}


def test_shipped_taxonomy_is_valid_and_cited():
    taxonomy = default_taxonomy()
    assert len(taxonomy.indicators) >= 15
    for indicator in taxonomy.indicators:
        assert indicator.source and indicator.category in taxonomy.categories
    categories = {i.category for i in taxonomy.indicators}
    assert {"sexual", "labour", "organ", "minors", "control", "payment", "movement"} <= categories


@pytest.mark.parametrize(
    ("mutate", "indicator_id", "key"),
    [
        (lambda i: i.pop("weight"), "youthful_language", "weight"),
        (lambda i: i.update(weight=1.5), "youthful_language", "weight"),
        (lambda i: i.update(category="nonsense"), "youthful_language", "category"),
        (lambda i: i.update(patterns=["(unclosed"]), "youthful_language", "patterns[0]"),
        (lambda i: i.update(detector="no_such_detector"), "youthful_language", "patterns/detector"),
        (lambda i: i.update(colour="red"), "youthful_language", "colour"),
        (lambda i: i.update(source=""), "youthful_language", "source"),
        (lambda i: i.update(escalate="yes"), "youthful_language", "escalate"),
    ],
)
def test_invalid_taxonomy_names_indicator_and_key(mutate, indicator_id, key):
    data = raw_taxonomy()
    target = next(i for i in data["indicators"] if i["id"] == indicator_id)
    mutate(target)
    with pytest.raises(TaxonomyError) as error:
        parse_taxonomy(data)
    assert repr(indicator_id) in str(error.value) and repr(key) in str(error.value)


def test_unknown_detector_is_named():
    data = raw_taxonomy()
    target = next(i for i in data["indicators"] if i["id"] == "obfuscated_phone")
    target["detector"] = "telepathy"
    with pytest.raises(TaxonomyError, match="'obfuscated_phone', key 'detector'.*telepathy"):
        parse_taxonomy(data)


def test_duplicate_ids_rejected():
    data = raw_taxonomy()
    data["indicators"].append(copy.deepcopy(data["indicators"][0]))
    with pytest.raises(TaxonomyError, match="duplicate id"):
        parse_taxonomy(data)


def test_broken_yaml_file_is_reported(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("indicators: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not valid YAML"):
        load_taxonomy(path)


@pytest.mark.parametrize(
    "text",
    [
        "Barely legal and petite, new girl in town",
        "jonge meid, nieuw meisje",
        "junges Mädchen, gerade 18",
        "jeune fille, tout juste 18",
        "jovencita recién cumplidos 18",
        "ragazzina appena 18",
        "młodziutka nowa dziewczyna",
    ],
)
def test_youthful_language_multilingual(text):
    hits = hits_for(text)
    assert "youthful_language" in hits
    span = hits["youthful_language"].evidence[0]
    assert text[span.start : span.end] == span.text


def test_stated_age_under_18_escalates_whatever_the_score():
    hits = match_indicators(Findings(text="I am 16", ages=((16, Span(text="I am 16", start=0, end=7)),)))
    risk, explanation, escalate = score(hits)
    assert [h.id for h in hits] == ["stated_age_under_18"]
    assert escalate and "ESCALATE" in explanation


@pytest.mark.parametrize("text", ["underage girls", "menor de edad", "minorenne disponibile", "minderjarig meisje"])
def test_minor_terms_escalate(text):
    assert hits_for(text)["minor_terms"].escalate


def test_adult_age_does_not_escalate():
    hits = match_indicators(Findings(text="I am 23", ages=((23, Span(text="23", start=5, end=7)),)))
    assert not score(hits)[2]


LABOUR_AD = (
    "Work in the Netherlands! No experience needed. Accommodation provided, transport provided, "
    "we help with travel and tickets. Rent is deducted from your salary."
)


def test_single_labour_indicator_scores_low():
    hits = hits_for("Warehouse job, no experience needed.")
    assert set(hits) == {"labour_no_experience"}
    assert score(list(hits.values()))[0] < 5


def test_labour_cooccurrence_fires_with_three_or_more():
    hits = hits_for(LABOUR_AD)
    labour = {h for h in hits if h.startswith("labour_") and h != "labour_cooccurrence"}
    assert len(labour) >= 3
    assert "labour_cooccurrence" in hits
    assert score(list(hits.values()))[0] >= 55


def test_labour_cooccurrence_in_polish_and_romanian():
    polish = "Praca w Niemczech, bez doświadczenia, zapewniamy zakwaterowanie i darmowy transport."
    romanian = "Muncă în Olanda, fără experiență, cazare asigurată, transport gratuit."
    assert "labour_cooccurrence" in hits_for(polish)
    assert "labour_cooccurrence" in hits_for(romanian)


def test_two_labour_indicators_do_not_make_a_cooccurrence():
    assert "labour_cooccurrence" not in hits_for("No experience needed, accommodation provided.")


def test_control_indicators():
    hits = hits_for("The employer will keep your passport. Recruitment fee 300 EUR to pay upfront.")
    assert {"documents_withheld", "recruitment_fee"} <= set(hits)


def test_organ_trade_with_price():
    hits = hits_for("Kidney for sale, 50000 USD, healthy donor")
    assert {"organ_offer", "organ_with_price"} <= set(hits)
    assert "organ_with_price" not in hits_for("kidney donor wanted, contact me")
    assert "organ_offer" in hits_for("Sprzedam nerkę")


def test_crypto_only_payment():
    text = "Payment in BTC only: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    assert "crypto_only_payment" in hits_for(text, entities=tuple(find_entities(text)))
    wallet_only = "send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    assert "crypto_only_payment" in hits_for(wallet_only, entities=tuple(find_entities(wallet_only)))
    with_cash = "cash or 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    assert "crypto_only_payment" not in hits_for(with_cash, entities=tuple(find_entities(with_cash)))


def test_obfuscated_phone_indicator():
    text = "call 6️⃣2️⃣6️⃣7️⃣5️⃣7️⃣8️⃣2️⃣2️⃣5️⃣"
    assert "obfuscated_phone" in hits_for(text, entities=tuple(find_entities(text, "US")))
    plain = "call 626-757-8225"
    assert "obfuscated_phone" not in hits_for(plain, entities=tuple(find_entities(plain, "US")))


def test_movement_language_has_a_low_weight():
    hits = hits_for("New in town, leaving soon!")
    assert set(hits) == {"movement_language"}
    assert hits["movement_language"].weight <= 0.05


def test_title_evidence_has_no_offsets():
    hits = match_indicators(Findings(text="hello", title="barely legal"))
    assert hits[0].evidence[0].start == -1


def test_risk_is_noisy_or():
    hits = [
        IndicatorHit(id="a", category="sexual", weight=0.5, source="s"),
        IndicatorHit(id="b", category="sexual", weight=0.5, source="s"),
    ]
    risk, explanation, escalate = score(hits)
    assert risk == 75 and not escalate and "a (0.5)" in explanation
    assert score([]) == (0, "no indicators", False)


@pytest.mark.parametrize(
    "text",
    [
        "Paszport przechowujemy w biurze dla bezpieczeństwa.",
        "Pașaportul se predă coordonatorului la sosire.",
        "Passport must be handed to the employer for visa processing.",
        "Der Reisepass wird vom Arbeitgeber aufbewahrt.",
        "Reisepass wird von der Agentur aufbewahrt.",
        "Votre passeport sera remis à l'employeur à l'arrivée.",
        "We bewaren je paspoort op kantoor.",
        "Guardamos tu pasaporte durante el contrato.",
    ],
)
def test_documents_withheld_multilingual(text):
    assert "documents_withheld" in hits_for(text)


@pytest.mark.parametrize(
    "text",
    [
        "Flights paid, you repay the travel costs from your wages.",
        "Billet d'avion avancé (remboursable sur salaire).",
        "Pasaje pagado, la deuda se paga trabajando.",
        "Die Reisekosten werden vom Lohn zurückgezahlt.",
        "Zwrot kosztów podróży z wypłaty.",
        "Biletul se returnează din salariu.",
    ],
)
def test_debt_bondage_multilingual(text):
    assert "debt_bondage" in hits_for(text)


@pytest.mark.parametrize(
    "text",
    [
        "Cleaners wanted, no papers needed.",
        "Geen papieren nodig.",
        "Trabajo sin papeles, pago diario.",
        "Keine Arbeitserlaubnis nötig.",
        "Travail pour sans-papiers, payé en espèces.",
        "Praca bez pozwolenia na pracę.",
        "Lucru fără acte.",
        "Lavoro senza permesso di soggiorno.",
    ],
)
def test_no_documents_needed_multilingual(text):
    hits = hits_for(text)
    assert "no_documents_needed" in hits and hits["no_documents_needed"].category == "labour"


@pytest.mark.parametrize(
    "text",
    [
        "Please bring your passport and work permit to the interview.",
        "Experienced cleaners with documents in order.",
        "Tickets paid by the company.",
    ],
)
def test_ordinary_job_ad_wording_is_not_coercion(text):
    assert not {"documents_withheld", "debt_bondage", "no_documents_needed"} & set(hits_for(text))


@pytest.mark.parametrize(
    ("text", "indicator_id"),
    [
        ("Taxă de plasare 250 euro, achitată la plecare.", "recruitment_fee"),
        ("Nu este nevoie de experiență.", "labour_no_experience"),
        ("Zakwaterowanie i transport zapewnione (potrącane z wypłaty).", "labour_wage_deductions"),
        ("Zakwaterowanie i transport zapewnione.", "labour_transport_provided"),
        ("Huisvesting wordt geregeld, inhouding 120 euro per week voor de kamer.", "labour_wage_deductions"),
        ("Vermittlungsgebühr 400 € (wird vom ersten Lohn abgezogen).", "labour_wage_deductions"),
        ("Pasaje pagado, alojamiento incluido.", "labour_travel_help"),
        ("Selling one kidney, serious buyers only.", "organ_offer"),
    ],
)
def test_recruitment_wording_in_the_fixture_board_languages(text, indicator_id):
    assert indicator_id in hits_for(text)


def test_work_without_papers_counts_towards_labour_cooccurrence():
    text = "Geen papieren nodig. Huisvesting wordt geregeld, inhouding 120 euro per week voor de kamer."
    assert {"no_documents_needed", "labour_accommodation_provided", "labour_wage_deductions", "labour_cooccurrence"} <= set(
        hits_for(text)
    )
