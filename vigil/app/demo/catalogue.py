"""The demo's invented world: three country sections, ad wordings per language, and the networks.

Everything here is written by the project and deliberately non-explicit. The patterns are the
ones analysts look for — one phone or wallet behind ads in several countries, recruitment that
keeps passports and deducts housing from pay, an organ "donor" offer — and the single escalation
case is described in words only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    country: str
    language: str
    site: str
    cities: tuple[str, ...]
    phone_prefix: str  # E.164 prefix of mobile numbers, completed with digits


SECTIONS: tuple[Section, ...] = (
    Section("DE", "de", "demo-de", ("Berlin", "Hamburg", "Köln", "Frankfurt"), "+49151"),
    Section("NL", "nl", "demo-nl", ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag"), "+316"),
    Section("FR", "fr", "demo-fr", ("Paris", "Lyon", "Marseille", "Lille"), "+336"),
)

NAMES = ("Anna", "Mila", "Sofia", "Lena", "Eva", "Nika", "Dana", "Irina", "Lara", "Vera", "Alina", "Maya")

# Wordings per category and language; {name} {city} {age} {contact} are filled in.
WORDINGS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "escort": {
        "de": (
            (
                "{name}, {age} – neu in {city}",
                "Hallo, ich bin {name}, nur diese Woche in {city}. Diskret und freundlich. Termine nur telefonisch: {contact}",
            ),
            (
                "Begleitung in {city} – {name}",
                "Charmante Begleitung für Abendessen und Events. Besuch im Hotel möglich. Kontakt {contact}",
            ),
            (
                "Massage {city}, neue Mädchen",
                "Neue Damen jede Woche in {city}. Agentur, Buchung über {contact}. Nur kurze Zeit hier.",
            ),
        ),
        "nl": (
            (
                "{name} ({age}) nieuw in {city}",
                "Hoi, ik ben {name}, deze week in {city}. Discreet en lief. Bel of app {contact}",
            ),
            (
                "Gezelschap {city} – {name}",
                "Gezellig gezelschap voor diner of evenement. Hotelbezoek mogelijk. {contact}",
            ),
            (
                "Massage salon {city}",
                "Nieuwe dames elke week in {city}. Afspraak via het bureau: {contact}. Maar kort hier.",
            ),
        ),
        "fr": (
            (
                "{name}, {age} ans, nouvelle à {city}",
                "Bonjour, je suis {name}, de passage à {city} cette semaine. Discrète. Contact {contact}",
            ),
            (
                "Accompagnatrice {city} – {name}",
                "Compagnie pour dîners et soirées, déplacement à l'hôtel possible. Écrire à {contact}",
            ),
            (
                "Massage {city}, nouvelles filles",
                "Nouvelles filles chaque semaine à {city}. Réservation par l'agence : {contact}.",
            ),
        ),
    },
    "job": {
        "de": (
            (
                "Arbeit in der Landwirtschaft – sofort, ohne Erfahrung",
                "Saisonarbeit in {city}. Unterkunft und Transport organisieren wir, Kosten werden vom Lohn abgezogen. Reisepass wird von der Agentur aufbewahrt. Bewerbung: {contact}",
            ),
            (
                "Lagerhelfer gesucht, {city}",
                "Sofort Arbeit, Bezahlung bar, keine Papiere nötig. Wir holen Sie ab. Vorschuss für Reise wird mit dem Lohn verrechnet. {contact}",
            ),
        ),
        "nl": (
            (
                "Werk in de kassen – direct beginnen",
                "Werk in {city}, geen ervaring nodig. Huisvesting via ons, huur gaat van het loon af. Paspoort wordt door het bureau bewaard. {contact}",
            ),
            (
                "Schoonmakers gezocht {city}",
                "Direct werk, contant betaald, geen papieren nodig. Reiskosten voorgeschoten, terugbetalen met loon. {contact}",
            ),
        ),
        "fr": (
            (
                "Travail agricole – départ immédiat, sans expérience",
                "Emploi saisonnier à {city}. Logement et transport fournis, retenus sur le salaire. Passeport conservé par l'agence. Contact {contact}",
            ),
            (
                "Cherchons manutentionnaires, {city}",
                "Travail tout de suite, payé en liquide, pas besoin de papiers. Avance pour le voyage remboursée sur la paie. {contact}",
            ),
        ),
    },
    "organ": {
        "en": (
            (
                "Kidney donor wanted – good compensation",
                "Private clinic seeks healthy donors aged 20-40. Travel and stay paid, compensation in crypto after the procedure. Discreet. Contact {contact}",
            ),
        ),
    },
    "minor": {
        "en": (
            (
                "[demo escalation case — text withheld]",
                "Demo stand-in for an ad whose wording indicates the person advertised is a minor (a school-age reference next to an offer of companionship). The real wording is withheld; analysts escalate such ads at once. Contact {contact}",
            ),
        ),
    },
}

# Which indicators (ids of pipelines/indicators.yaml) each kind of demo ad carries once enriched.
INDICATORS: dict[str, tuple[str, ...]] = {
    "escort": ("movement_language",),
    "escort_agency": ("third_party_language", "movement_language"),
    "job": ("labour_wage_deductions", "labour_accommodation_provided", "documents_withheld"),
    "job_cash": ("labour_travel_help", "debt_bondage"),
    "organ": ("organ_offer", "organ_with_price", "crypto_only_payment"),
    "minor": ("minor_terms",),
}

# indicator id -> (category, weight in risk points)
WEIGHTS: dict[str, tuple[str, int]] = {
    "movement_language": ("movement", 15),
    "third_party_language": ("control", 30),
    "labour_wage_deductions": ("labour", 20),
    "labour_accommodation_provided": ("labour", 10),
    "documents_withheld": ("control", 40),
    "labour_travel_help": ("labour", 15),
    "debt_bondage": ("control", 35),
    "organ_offer": ("organ", 50),
    "organ_with_price": ("organ", 25),
    "crypto_only_payment": ("payment", 10),
    "minor_terms": ("minors", 95),
}


@dataclass(frozen=True)
class Network:
    """Contacts reused by a group of ads across sections: what the analyst should find."""

    name: str
    kind: str
    countries: tuple[str, ...]
    size: int
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    wallets: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    tags: tuple[str, ...] = field(default=())


NETWORKS: tuple[Network, ...] = (
    Network(
        "rotation",
        "escort_agency",
        ("DE", "NL", "FR"),
        14,
        phones=("+4915112345678", "+31612345678"),
        wallets=("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",),
    ),
    Network(
        "recruiter",
        "job",
        ("NL", "DE", "FR"),
        10,
        phones=("+33612345678",),
        emails=("werk.agentur@mail.example",),
        handles=("telegram:jobs_fast",),
    ),
    Network(
        "cash-work",
        "job_cash",
        ("DE", "NL"),
        6,
        phones=("+4917623456789",),
        handles=("whatsapp:+4917623456789",),
    ),
    Network(
        "clinic",
        "organ",
        ("FR", "DE"),
        2,
        emails=("donor.clinic@mail.example",),
        wallets=("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",),
    ),
)
