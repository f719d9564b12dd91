"""Deterministic demo ads built from the catalogue, as board entries or as indexed AdDocuments.

The same ads feed the demo board (which the real crawl and enrichment then process) and, as
ready-made ``AdDocument``s, the tests and the README screenshot that need data without a crawl.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vigil.app.demo.catalogue import (
    INDICATORS,
    NAMES,
    NETWORKS,
    SECTIONS,
    WEIGHTS,
    WORDINGS,
    Section,
)
from vigil.core.records import AdDocument, Entity, IndicatorHit

SECTION_BY_COUNTRY = {s.country: s for s in SECTIONS}


@dataclass
class DemoAd:
    ad_id: str
    section: Section
    kind: str
    title: str
    text: str
    city: str
    age_hours: float  # how long before "now" the ad was first seen
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    network: str | None = None

    @property
    def indicator_ids(self) -> list[str]:
        return list(INDICATORS.get(self.kind, ()))

    @property
    def risk(self) -> int:
        return min(100, sum(WEIGHTS[i][1] for i in self.indicator_ids) + (len(self.ad_id) * 7) % 10)

    @property
    def escalate(self) -> bool:
        return self.kind in ("minor", "organ")

    def to_document(self, base_url: str, now: datetime | None = None) -> AdDocument:
        now = now or datetime.now(UTC)
        first = now - timedelta(hours=self.age_hours)
        url = f"{base_url.rstrip('/')}/{self.section.country.lower()}/ad/{self.ad_id}"
        entities = [
            Entity(type=kind, value=value)
            for kind, values in (
                ("phone", self.phones),
                ("email", self.emails),
                ("wallet", self.wallets),
                ("handle", self.handles),
            )
            for value in values
        ]
        return AdDocument(
            ad_key=f"{self.section.site}:{self.ad_id}",
            profile_id=self.section.site,
            url=url,
            canonical_url=url,
            ad_id=self.ad_id,
            country=self.section.country,
            language="en" if self.kind in ("organ", "minor") else self.section.language,
            title=self.title,
            text=self.text,
            location=self.city,
            entities=entities,
            phones=self.phones,
            emails=self.emails,
            wallets=self.wallets,
            handles=self.handles,
            indicators=[
                IndicatorHit(
                    id=i,
                    category=WEIGHTS[i][0],
                    weight=WEIGHTS[i][1] / 100,
                    source="demo",
                    escalate=self.escalate,
                )
                for i in self.indicator_ids
            ],
            indicator_ids=self.indicator_ids,
            categories=sorted({WEIGHTS[i][0] for i in self.indicator_ids}),
            risk=self.risk if self.indicator_ids else (len(self.ad_id) * 3) % 12,
            escalate=self.escalate,
            first_seen=first,
            last_seen=min(now, first + timedelta(hours=(self.age_hours % 48))),
            fetched_at=first,
        )


def _contact_line(ad: DemoAd) -> str:
    parts = [
        *ad.phones,
        *ad.emails,
        *(h.replace("telegram:", "Telegram @") for h in ad.handles if h.startswith("telegram:")),
    ]
    parts += [f"BTC/ETH {w}" for w in ad.wallets]
    return " · ".join(parts)


def _fill(ad: DemoAd, rng: random.Random, language: str, wording_kind: str) -> None:
    title, text = rng.choice(WORDINGS[wording_kind][language])
    values = {
        "name": rng.choice(NAMES),
        "city": ad.city,
        "age": rng.randint(21, 34),
        "contact": _contact_line(ad),
    }
    ad.title, ad.text = title.format(**values), text.format(**values)


def _unique_phone(section: Section, rng: random.Random, used: set[str]) -> str:
    """A valid mobile number of the section's country that no other demo ad uses."""
    import phonenumbers

    while True:
        phone = section.phone_prefix + "".join(str(rng.randint(0, 9)) for _ in range(8))
        if phone not in used and phonenumbers.is_valid_number(phonenumbers.parse(phone)):
            used.add(phone)
            return phone


def generate(count: int = 200, seed: int = 7, days: int = 14) -> list[DemoAd]:
    """``count`` ads: the networks, one escalation case, then independent ads spread over sections."""
    rng = random.Random(seed)
    used: set[str] = set()
    ads: list[DemoAd] = []

    def new_ad(section: Section, kind: str) -> DemoAd:
        ad = DemoAd(
            ad_id=f"{section.country.lower()}{len(ads) + 1:04d}",
            section=section,
            kind=kind,
            title="",
            text="",
            city=rng.choice(section.cities),
            age_hours=rng.uniform(0, days * 24),
        )
        ads.append(ad)
        return ad

    for network in NETWORKS:
        for i in range(network.size):
            ad = new_ad(SECTION_BY_COUNTRY[network.countries[i % len(network.countries)]], network.kind)
            ad.network = network.name
            ad.phones = [network.phones[i % len(network.phones)]] if network.phones else []
            ad.emails = list(network.emails)
            ad.handles = list(network.handles)
            ad.wallets = (
                list(network.wallets) if network.wallets and (network.kind == "organ" or i % 3 == 0) else []
            )
            wording = {"escort_agency": "escort", "job_cash": "job"}.get(network.kind, network.kind)
            language = "en" if wording in ("organ", "minor") else ad.section.language
            _fill(ad, rng, language, wording)
    case = new_ad(SECTION_BY_COUNTRY["DE"], "minor")
    case.phones = [_unique_phone(case.section, rng, used)]
    _fill(case, rng, "en", "minor")
    while len(ads) < count:
        section = SECTIONS[len(ads) % len(SECTIONS)]
        kind = "escort" if rng.random() < 0.8 else "job"
        ad = new_ad(section, kind)
        ad.phones = [_unique_phone(section, rng, used)]
        _fill(ad, rng, section.language, kind)
        if kind == "escort" and rng.random() < 0.6:
            ad.kind = "plain"
    return ads


def sample_documents(
    count: int = 200, base_url: str = "http://127.0.0.1:8700", now: datetime | None = None
) -> list[AdDocument]:
    """Ready-made indexed ads for tests and screenshots (what enrichment would have produced)."""
    now = now or datetime.now(UTC)
    return [ad.to_document(base_url, now) for ad in generate(count)]
