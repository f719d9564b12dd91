"""Alert rules and subscribers (alerts.yaml), validated once at start, evaluated per ad event.

A rule's ``when`` holds conditions that must *all* hold (``profiles`` only narrows the scope);
each condition that holds adds a line of evidence, so an alert can say why it fired.
Watchlist values are normalised with ``vigil.core.entities.normalize``, the very function
enrichment uses, so "+31 6 1234 5678" in a rule matches "06-1234 5678" written in an ad.
The format is documented in docs/alerts.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from vigil.core.records import AdEvent, NetworkEvent

RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
WATCHLIST_TYPES = ("phone", "wallet", "email", "handle")
SPREAD_TYPES = ("phone", "email", "wallet", "handle", "onion")
NETWORK_EVENT_TYPES = ("network.grew", "network.new_country")


class RulesError(Exception):
    """An unusable alerts.yaml: ``file: key: reason``."""


class Context(Protocol):
    """What evaluating a rule may need to ask beyond the event itself."""

    def is_baseline(self, event: AdEvent) -> bool: ...

    def spread(self, entity_type: str, value: str) -> tuple[list[str], list[str]]:
        """(sites, countries) an entity has been seen on."""
        ...


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Watchlist(Part):
    """Entities to watch for, written as a person would; ``region`` reads national phone numbers."""

    phone: list[str] = []
    wallet: list[str] = []
    email: list[str] = []
    handle: list[str] = []
    region: str | None = Field(None, description="ISO country for phone numbers written without +CC")

    _normalised: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    _lists = field_validator(*WATCHLIST_TYPES, mode="before")(classmethod(lambda cls, v: _as_list(v or [])))

    @model_validator(mode="after")
    def _normalise(self) -> Watchlist:
        from vigil.core.entities import normalize

        for entity_type in WATCHLIST_TYPES:
            values: dict[str, str] = {}
            for written in getattr(self, entity_type):
                normalised = normalize(entity_type, written, self.region)
                if normalised is None:
                    raise ValueError(f"{entity_type} {written!r} is not a valid {entity_type}")
                values[normalised] = written
            self._normalised[entity_type] = values
        if not any(self._normalised.values()):
            raise ValueError("the watchlist is empty")
        return self

    def matches(self, event: AdEvent) -> list[str]:
        found = []
        for entity_type, watched in self._normalised.items():
            for value in event.entities.get(entity_type, []):
                if value in watched:
                    found.append(f"{entity_type} {value} is on the watchlist (as {watched[value]!r})")
        return found


class When(Part):
    new_ad: bool = False
    profiles: list[str] | None = Field(None, description="omitted = every profile")
    entities: Watchlist | None = None
    keywords: list[str] = []
    regex: list[str] = []
    indicators: list[str] = []
    escalate: bool = False
    min_risk: int | None = Field(None, ge=0, le=100)
    min_sites: int | None = Field(None, ge=1, description="an entity of the ad seen on at least N sites")
    min_countries: int | None = Field(
        None, ge=1, description="an entity of the ad seen in at least N countries"
    )
    network_events: list[str] = Field([], description="network.grew and/or network.new_country")
    networks: list[str] = Field([], description="watched network ids (omitted = every network)")
    min_network_size: int | None = Field(None, ge=2, description="the network has at least N ads")

    _patterns: list[tuple[str, re.Pattern]] = PrivateAttr(default_factory=list)

    _lists = field_validator(
        "keywords", "regex", "indicators", "profiles", "network_events", "networks", mode="before"
    )(classmethod(lambda cls, v: _as_list(v)))

    @property
    def about_networks(self) -> bool:
        """Rules on network events (docs/networks.md) take only the network conditions."""
        return bool(self.network_events or self.networks or self.min_network_size)

    @model_validator(mode="after")
    def _compile(self) -> When:
        conditions = [
            self.new_ad,
            self.entities,
            self.keywords,
            self.regex,
            self.indicators,
            self.escalate,
            self.min_risk is not None,
            self.min_sites,
            self.min_countries,
        ]
        if self.about_networks:
            unknown = [e for e in self.network_events if e not in NETWORK_EVENT_TYPES]
            if unknown:
                raise ValueError(f"network_events: {unknown[0]!r} is not one of {', '.join(NETWORK_EVENT_TYPES)}")
            if any(conditions) or self.profiles is not None:
                raise ValueError("network conditions (network_events, networks, min_network_size) stand alone")
            return self
        if not any(conditions):
            raise ValueError(
                "give at least one condition: new_ad, entities, keywords, regex, indicators, escalate, "
                "min_risk, min_sites, min_countries, network_events, networks, min_network_size"
            )
        for keyword in self.keywords:
            if not keyword.strip():
                raise ValueError("a keyword is empty")
            pattern = re.compile(rf"(?<!\w){re.escape(keyword.strip())}(?!\w)", re.IGNORECASE)
            self._patterns.append((f"keyword {keyword!r}", pattern))
        for expression in self.regex:
            try:
                pattern = re.compile(expression, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"regex {expression!r} does not compile ({exc})") from None
            self._patterns.append((f"regex /{expression}/", pattern))
        return self

    def evaluate(self, event: AdEvent | NetworkEvent, context: Context) -> list[str] | None:
        """The evidence if every condition holds, else None. Cheap checks run first."""
        if isinstance(event, NetworkEvent) or self.about_networks:
            return self._evaluate_network(event) if isinstance(event, NetworkEvent) and self.about_networks else None
        if self.profiles is not None and event.profile_id not in self.profiles:
            return None
        evidence: list[str] = []
        checks: list[Callable[[], list[str]]] = []
        if self.min_risk is not None:
            checks.append(
                lambda: [f"risk {event.risk} >= {self.min_risk}"] if event.risk >= self.min_risk else []
            )
        if self.escalate:
            checks.append(
                lambda: (
                    ["escalated for review (" + ", ".join(event.indicators or ["-"]) + ")"]
                    if event.escalate
                    else []
                )
            )
        if self.indicators:
            checks.append(lambda: [f"indicator {i}" for i in self.indicators if i in event.indicators])
        if self._patterns:
            checks.append(lambda: _text_matches(self._patterns, event))
        if self.entities is not None:
            checks.append(lambda: self.entities.matches(event))
        if self.new_ad:
            checks.append(
                lambda: (
                    [f"new ad on {event.profile_id}"]
                    if event.event_type == "ad.new" and not context.is_baseline(event)
                    else []
                )
            )
        if self.min_sites or self.min_countries:
            checks.append(lambda: _spread(event, context, self.min_sites, self.min_countries))
        for check in checks:
            found = check()
            if not found:
                return None
            evidence.extend(found)
        return evidence


    def _evaluate_network(self, event: NetworkEvent) -> list[str] | None:
        if self.networks and event.network_id not in self.networks:
            return None
        if self.network_events and event.event_type not in self.network_events:
            return None
        if self.min_network_size and event.size < self.min_network_size:
            return None
        evidence = [f"network {event.network_id}" + (" (watched)" if self.networks else "")]
        if event.event_type == "network.new_country":
            evidence.append(
                f"new country {', '.join(event.new_countries)}: now {len(event.countries)} countries "
                f"({', '.join(event.countries)})"
            )
        else:
            evidence.append(f"grew from {event.previous_size} to {event.size} ads")
        evidence += event.evidence
        return evidence


def _text_matches(patterns: list[tuple[str, re.Pattern]], event: AdEvent) -> list[str]:
    text = f"{event.title}\n{event.text}"
    found = []
    for label, pattern in patterns:
        match = pattern.search(text)
        if match:
            start, end = max(0, match.start() - 40), min(len(text), match.end() + 40)
            snippet = " ".join(text[start:end].split())
            found.append(f"{label} matched: \u2026{snippet}\u2026")
    return found


def _spread(event: AdEvent, context: Context, min_sites: int | None, min_countries: int | None) -> list[str]:
    found = []
    for entity_type in SPREAD_TYPES:
        for value in event.entities.get(entity_type, []):
            sites, countries = context.spread(entity_type, value)
            if min_sites and len(sites) < min_sites:
                continue
            if min_countries and len(countries) < min_countries:
                continue
            parts = []
            if min_sites:
                parts.append(f"{len(sites)} sites ({', '.join(sorted(sites))})")
            if min_countries:
                parts.append(f"{len(countries)} countries ({', '.join(sorted(countries))})")
            found.append(f"{entity_type} {value} seen on " + " and ".join(parts))
    return found


class Rule(Part):
    id: str = Field(pattern=RULE_ID)
    description: str = ""
    when: When


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("must be >= 0")
        return float(value)
    if isinstance(value, str):
        if value.strip() in ("0", "0s"):
            return 0.0
        from vigil.core.profiles import parse_duration

        return parse_duration(value).total_seconds()
    raise ValueError("expected seconds or a duration like 15m")


class Subscriber(Part):
    """Who is told: Apprise URLs (``${ENV_VAR}`` expanded), which rules, how often and how much."""

    id: str = Field(pattern=RULE_ID)
    urls: list[str] = Field(min_length=1)
    rules: list[str] = Field(min_length=1)
    digest: float = Field(
        0.0, description="seconds (or 15m, 1h) to gather alerts into one message; 0 = at once"
    )
    content: Literal["minimal", "summary", "full"] = Field(
        "summary",
        description="minimal: rule, ad key, Vigil link; summary: + site, risk, evidence; full: + title, "
        "defanged URL. Escalated ads are always minimal",
    )

    _digest = field_validator("digest", mode="before")(classmethod(lambda cls, v: _seconds(v)))
    _lists = field_validator("urls", "rules", mode="before")(classmethod(lambda cls, v: _as_list(v)))

    def missing_env(self) -> list[str]:
        """``${VAR}`` names used in the URLs that the environment does not set."""
        return sorted(
            {name for url in self.urls for name in ENV_REFERENCE.findall(url) if name not in os.environ}
        )

    def targets(self) -> list[str]:
        """The URLs with ``${ENV_VAR}`` replaced (secrets stay out of alerts.yaml)."""
        return [ENV_REFERENCE.sub(lambda m: os.environ[m.group(1)], url) for url in self.urls]


class AlertsConfig(Part):
    rules: list[Rule] = []
    subscribers: list[Subscriber] = []

    @model_validator(mode="after")
    def _references(self) -> AlertsConfig:
        rule_ids = [rule.id for rule in self.rules]
        for name, ids in (("rule", rule_ids), ("subscriber", [s.id for s in self.subscribers])):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"{name} id {duplicates[0]!r} is used twice")
        for subscriber in self.subscribers:
            for rule_id in subscriber.rules:
                if rule_id not in rule_ids:
                    raise ValueError(
                        f"subscriber {subscriber.id!r} names rule {rule_id!r}, which is not defined"
                    )
        return self

    def missing_env(self) -> list[str]:
        """'subscriber: VAR' for every URL variable the environment lacks (the worker refuses to start)."""
        return [f"{s.id}: {name}" for s in self.subscribers for name in s.missing_env()]

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)

    def subscriber(self, subscriber_id: str) -> Subscriber:
        return next(s for s in self.subscribers if s.id == subscriber_id)


@dataclass(frozen=True)
class Match:
    subscriber: Subscriber
    rule: Rule
    evidence: list[str]


def evaluate(config: AlertsConfig, event: AdEvent | NetworkEvent, context: Context) -> list[Match]:
    """Every (subscriber, rule) an event fires, each rule evaluated once."""
    fired: dict[str, list[str]] = {}
    wanted = {rule_id for s in config.subscribers for rule_id in s.rules}
    for rule in config.rules:
        if rule.id in wanted:
            evidence = rule.when.evaluate(event, context)
            if evidence is not None:
                fired[rule.id] = evidence
    return [
        Match(subscriber, config.rule(rule_id), fired[rule_id])
        for subscriber in config.subscribers
        for rule_id in subscriber.rules
        if rule_id in fired
    ]


def _describe(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(root)"
    reason = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        reason = "unknown key"
    elif first["type"] == "missing":
        reason = "required key is missing"
    return key, reason


def parse_rules(data: Any, source: str = "<alerts>") -> AlertsConfig:
    if not isinstance(data, dict):
        raise RulesError(f"{source}: (root): the file must hold a mapping with rules and subscribers")
    try:
        return AlertsConfig.model_validate(data)
    except ValidationError as exc:
        key, reason = _describe(exc)
        raise RulesError(f"{source}: {key}: {reason}") from None


def load_rules(path: str | Path, *, require_env: bool = False) -> AlertsConfig:
    """Read and validate alerts.yaml; every failure is a RulesError naming the file, key and reason.

    ``require_env``: also fail when a ``${VAR}`` in a URL is not set (the worker needs them all;
    checking the file in CI does not).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{path}: (file): no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: (file): cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: (file): not valid YAML ({exc})".replace("\n", " ")) from None
    config = parse_rules(data, str(path))
    missing = config.missing_env()
    if require_env and missing:
        raise RulesError(f"{path}: subscribers: environment variables not set: {', '.join(missing)}")
    return config


def rules_path(explicit: str | Path | None, configured: Path | None) -> Path:
    """--rules, else the ``alerts_rules`` setting, else ./alerts.yaml."""
    return Path(explicit or configured or "alerts.yaml")
