"""A generator of synthetic ad corpora with known networks, for evaluating network linking.

What it makes (all seeded, so a run is reproducible):

* networks: each has a text template and one to three phones (sometimes a wallet or an e-mail
  address); its ads are re-posts on one to four sites in several countries, with the provider's
  name, age and price changed, a few words edited, and sometimes a phone number changed, dropped,
  or only the text left to tie the ad to the others;
* per-site decoy boilerplate: a footer every ad of a site carries, and on two sites a support
  number in that footer (a hub value: on every ad of the site, network or not);
* unrelated ads that share stock phrases ("no blocked calls", "100% real pictures", ...).

Ground truth is the network each ad was generated from; every unrelated ad is its own network.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SITES = {
    "berlin-ads": "DE",
    "hamburg-escorts": "DE",
    "amsterdam-dates": "NL",
    "rotterdam-ads": "NL",
    "paris-annonces": "FR",
    "bruxelles-rencontres": "BE",
    "vegas-list": "US",
    "miami-companions": "US",
}
PHONE_PREFIX = {"DE": "+49151", "NL": "+316", "FR": "+336", "BE": "+32470", "US": "+1702"}
PHONE_DIGITS = {"DE": 8, "NL": 8, "FR": 8, "BE": 6, "US": 7}
STOCK_PHRASES = [
    "no blocked calls please",
    "100% real pictures guaranteed",
    "incall and outcall available",
    "available 24 hours a day",
    "serious gentlemen only",
    "new in town this week",
    "discreet and clean apartment",
    "text me for more information",
    "rates are not negotiable",
    "no texts or blocked calls",
    "safe and discreet no games",
    "satisfaction is guaranteed always",
    "just call me and see",
    "sweet and sexy with a great attitude",
]
LONG_FOOTERS = ("hamburg-escorts", "paris-annonces", "miami-companions")  # disclaimers longer than ads
SUPPORT_LINES = ("berlin-ads", "vegas-list")  # sites printing their own support number on every ad
NAMES = ["Anna", "Lena", "Mia", "Sofia", "Nina", "Eva", "Lara", "Jade", "Nora", "Ivy", "Luna", "Zoe"]
SYLLABLES = ["ka", "lo", "mi", "re", "su", "ta", "ne", "vi", "do", "ra", "pe", "zu", "ba", "fi", "go", "he"]


@dataclass
class SyntheticAd:
    ad_key: str
    profile_id: str
    country: str
    title: str
    text: str
    truth: str
    day: int


@dataclass
class Corpus:
    ads: list[SyntheticAd] = field(default_factory=list)

    def truth_groups(self) -> list[list[str]]:
        groups: dict[str, list[str]] = {}
        for ad in self.ads:
            groups.setdefault(ad.truth, []).append(ad.ad_key)
        return list(groups.values())


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _sentence(rng: random.Random, words: int) -> list[str]:
    return [_word(rng) for _ in range(words)]


def _phone(rng: random.Random, country: str) -> str:
    first = str(rng.randint(2, 9))  # US exchanges cannot start with 0 or 1
    return (
        PHONE_PREFIX[country]
        + first
        + "".join(str(rng.randint(0, 9)) for _ in range(PHONE_DIGITS[country] - 1))
    )


def _wallet(rng: random.Random) -> str:
    """A well-formed Ethereum address (lower case: no checksum to get wrong)."""
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


def _edit(rng: random.Random, words: list[str], rate: float) -> list[str]:
    edited = list(words)
    for _ in range(max(1, round(len(words) * rate))):
        i = rng.randrange(len(edited))
        choice = rng.random()
        if choice < 0.5:
            edited[i] = _word(rng)
        elif choice < 0.75 and len(edited) > 10:
            del edited[i]
        else:
            edited.insert(i, _word(rng))
    return edited


def _sites(extra: int) -> dict[str, str]:
    """The eight named sites, and ``extra`` more spread over the same countries."""
    countries = sorted(PHONE_PREFIX)
    more = {f"board-{n:02d}": countries[n % len(countries)] for n in range(extra)}
    return {**SITES, **more}


def generate(
    seed: int = 7,
    networks: int = 60,
    unrelated: int = 400,
    edit_rate: float = 0.03,
    phone_change: float = 0.25,
    stock_phrases: int = 3,
    extra_sites: int = 0,
) -> Corpus:
    """``stock_phrases``: how many stock phrases each unrelated ad carries; ``extra_sites``: more
    sites (each with its own footer) beyond the eight named ones; a network still posts on at
    most four sites, so ads of one network are spread thinner across the sites' boilerplate."""
    rng = random.Random(seed)
    all_sites = _sites(extra_sites)
    sites = list(all_sites)
    footers = {site: _sentence(rng, 90 if site in LONG_FOOTERS else 30) for site in sites}
    support = {site: _phone(rng, all_sites[site]) for site in sites}
    corpus = Corpus()
    counter = 0

    def add(site: str, title: str, body: str, truth: str, contact: str = "") -> None:
        nonlocal counter
        counter += 1
        footer = " ".join(footers[site])
        if site in SUPPORT_LINES:
            footer += f" support {support[site]}"
        text = f"{body} {contact} {footer}".strip()
        corpus.ads.append(
            SyntheticAd(
                ad_key=f"{site}:{counter:05d}",
                profile_id=site,
                country=all_sites[site],
                title=title,
                text=text,
                truth=truth,
                day=rng.randint(0, 60),
            )
        )

    for n in range(networks):
        template = _sentence(rng, rng.randint(45, 80))
        for phrase in rng.sample(STOCK_PHRASES, 2):
            template.insert(rng.randrange(len(template)), phrase)
        home = rng.sample(sites, rng.randint(1, 4))
        phones = [_phone(rng, all_sites[home[0]]) for _ in range(rng.randint(1, 3))]
        extra = ""
        if rng.random() < 0.3:
            extra = rng.choice([f"BTC/ETH {_wallet(rng)}", f"mail {_word(rng)}{n}@example.org"])
        for _ in range(rng.choice([2, 2, 3, 3, 4, 5, 6, 8, 10, 14, 20])):
            site = rng.choice(home)
            words = _edit(rng, template, edit_rate)
            name, age, price = rng.choice(NAMES), rng.randint(19, 29), rng.choice([100, 150, 200, 250])
            body = f"{name} {age} " + " ".join(words) + f" {price} euro"
            if rng.random() < phone_change:
                contact = _phone(rng, all_sites[site]) if rng.random() < 0.6 else ""
            else:
                contact = "call " + " or ".join(rng.sample(phones, rng.randint(1, len(phones))))
            if extra and rng.random() < 0.5:
                contact += f" {extra}"
            add(site, f"{name} {age} new in {all_sites[site]}", body, f"network-{n}", contact)

    for n in range(unrelated):
        site = rng.choice(sites)
        words = _sentence(rng, rng.randint(25, 60))
        for phrase in rng.sample(STOCK_PHRASES, min(stock_phrases, len(STOCK_PHRASES))):
            words.insert(rng.randrange(len(words)), phrase)
        name = rng.choice(NAMES)
        contact = f"call {_phone(rng, all_sites[site])}" if rng.random() < 0.7 else ""
        add(site, f"{name} in {all_sites[site]}", f"{name} " + " ".join(words), f"single-{n}", contact)
    rng.shuffle(corpus.ads)
    return corpus
