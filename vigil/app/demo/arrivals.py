"""The ads the demo posts once the baseline has landed, and the alerts each one must raise.

One reuses a phone of the cross-border "rotation" network, written the way ads hide numbers
from scrapers; the alert rules watch that phone, so the analyst sees enrichment's normalisation
and the watchlist working on an ad nobody had seen before.
"""

from __future__ import annotations

from dataclasses import dataclass

WATCHED_PHONE = "+49 151 1234 5678"  # the rotation network's German number (vigil/app/demo/catalogue.py)


@dataclass(frozen=True)
class Arrival:
    section: str
    title: str
    text: str
    city: str
    rules: tuple[str, ...]  # the alerts that must arrive for it (others may too)


ARRIVALS: tuple[Arrival, ...] = (
    Arrival(
        "de",
        "Neu in Berlin – nur diese Woche",
        "Hallo, ich bin Nika, ganz neu in Berlin. Diskret, Hotelbesuche möglich. "
        "Nur SMS: 0151 \u2764 1234 \u2764 5678",
        "Berlin",
        ("new-ad", "watchlist"),
    ),
    Arrival(
        "nl",
        "Werk in de kassen – morgen beginnen",
        "Direct werk in Westland, geen ervaring nodig. Huisvesting via ons, huur gaat van het loon af. "
        "Paspoort wordt door het bureau bewaard. Reiskosten voorgeschoten. Bel 06 4455 6677",
        "Rotterdam",
        ("new-ad",),
    ),
    Arrival(
        "fr",
        "Donneur de rein recherché – bonne compensation",
        "Clinique privée cherche donneurs en bonne santé, 20-40 ans. Voyage et séjour payés, "
        "compensation en crypto après l'opération. Discret. Contact donor.clinic@mail.example",
        "Lyon",
        ("new-ad",),
    ),
)
