"""analyze(): one fetched ad page in, one enriched AdDocument out.

Pure and deterministic: no I/O, no clock (relative dates resolve against the fetch time), no
randomness (MinHash uses a fixed seed). Raises only on programming errors; the enrich worker
dead-letters those.

Bounded (``LimitsSettings``): fields and text are cut, entity occurrences and evidence are capped,
and a page that uses up its CPU budget has its remaining stages run on a short prefix of its text
only. Every bound that applied is named in ``AdDocument.truncated_by`` (with
``analysis_truncated``) and counted in ``vigil_limits_hit_total``. The one exception to
determinism: whether the CPU budget runs out depends on the machine.
"""

from __future__ import annotations

import time
from typing import Any

from pipelines import ages as ages_mod
from pipelines import people
from pipelines.dates import find_posted_at
from pipelines.indicators import Findings, match_indicators
from pipelines.language import detect_language
from pipelines.locations import find_location
from pipelines.metadata import extract_metadata
from pipelines.near_duplicates import ad_minhash, cluster_id, content_hash, signature_values
from pipelines.prices import find_price
from pipelines.regions import candidate_regions, country_region
from pipelines.risk import score
from pipelines.text import clean_text, fragment_to_text, image_urls, looks_like_html, main_text, parse, title
from vigil.core.config import LimitsSettings
from vigil.core.entities import scan_entities
from vigil.core.metrics import LIMITS_HIT
from vigil.core.records import ENTITY_FIELDS, AdDocument, Entity, RawPage, Span, ad_key

ANALYZER_VERSION = "1.3.0"
TRUNCATED_TEXT_CHARS = 5000
TITLE_CHARS = 1000
_limits = LimitsSettings()


def configure(limits: LimitsSettings) -> None:
    """The bounds ``analyze`` applies from now on (the enrich worker passes its configuration)."""
    global _limits
    _limits = limits


class Budget:
    """CPU seconds this thread may still spend on one page (``time.thread_time``: a busy machine
    or other threads do not use it up). A thread cannot have used more CPU than the wall-clock
    time that passed, so its CPU clock (a system call, asked between every stage) is read only
    once the wall clock says the budget could be spent."""

    def __init__(self, seconds: float):
        self.deadline = time.thread_time() + seconds
        self.earliest = time.perf_counter() + seconds
        self.spent = False

    def expired(self) -> bool:
        if not self.spent and time.perf_counter() >= self.earliest:
            self.spent = time.thread_time() > self.deadline
        return self.spent


def _field_text(value: str) -> str:
    return fragment_to_text(value) if looks_like_html(value) else clean_text(value)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _title_entities(
    title_text: str, regions: tuple[str, ...], known: set[tuple[str, str]], limits: LimitsSettings
) -> list[Entity]:
    """Entities found only in the title: kept, with start/end -1 (spans index the main text)."""
    found = []
    scan = scan_entities(
        title_text, regions, spans_per_value=limits.entity_spans_per_value,
        values_per_type=limits.entity_values_per_type,
    )  # fmt: skip
    for entity in scan.entities:
        if (entity.type, entity.value) not in known:
            known.add((entity.type, entity.value))
            found.append(entity.model_copy(update={"start": -1, "end": -1}))
    return found


def _span(text: str, start: int, end: int, in_title: bool) -> Span:
    return Span(text=text[start:end], start=-1 if in_title else start, end=-1 if in_title else end)


def _cut(value: str, limit: int, name: str, truncated: set[str]) -> str:
    if len(value) > limit:
        truncated.add(name)
        return value[:limit]
    return value


def analyze(page: RawPage, limits: LimitsSettings | None = None) -> AdDocument:
    """Extract, normalise, score and fingerprint one ad page, within ``limits`` (default: those
    given to ``configure``)."""
    limits = limits or _limits
    budget = Budget(limits.analysis_seconds)
    truncated: set[str] = set()
    fields = {
        k.lower(): _cut(v, limits.field_chars, "field_chars", truncated)
        for k, v in (page.fields or {}).items()
        if isinstance(v, str) and v.strip()
    }
    body = page.body or ""
    is_html = "html" in (page.content_type or "").lower() or looks_like_html(body[:5000])
    tree = parse(body) if is_html else None
    metadata = extract_metadata(body, page.final_url or page.url) if is_html else {}

    if "body" in fields:
        text = _field_text(fields["body"])
    elif tree is not None:
        text = main_text(body, tree)
    else:
        text = clean_text(body)
    if "title" in fields:
        ad_title = " ".join(_field_text(fields["title"]).split())[:TITLE_CHARS]
    elif tree is not None:
        ad_title = title(tree, metadata)
    else:
        ad_title = ""
    text = _cut(text, limits.text_chars, "text_chars", truncated)

    region = country_region(page.country)
    language = detect_language(f"{ad_title}\n{text}", page.language_hint)
    regions = candidate_regions(region, language)

    scan = scan_entities(
        text, regions, spans_per_value=limits.entity_spans_per_value,
        values_per_type=limits.entity_values_per_type, expired=budget.expired,
    )  # fmt: skip
    truncated |= scan.truncated
    entities = scan.entities + _title_entities(ad_title, regions, {(e.type, e.value) for e in scan.entities}, limits)

    # Past the budget, the remaining stages read a short prefix: bounded time, partial answers.
    scope = text[:TRUNCATED_TEXT_CHARS] if budget.expired() else text
    sources = ((scope, False), (ad_title, True))
    age_spans = [
        (m.age, _span(source, m.start, m.end, in_title)) for source, in_title in sources for m in ages_mod.find_ages(source)
    ]
    ethnicity_spans = [
        (m.value, _span(source, m.start, m.end, in_title))
        for source, in_title in sources
        for m in people.find_ethnicities(source)
    ]
    provider_spans = [
        (int(m.value), _span(source, m.start, m.end, in_title))
        for source, in_title in sources
        for m in people.find_providers(source)
    ]

    price = find_price(fields.get("price"), metadata, scope)
    time_node = tree.css_first("time[datetime]") if tree is not None else None
    posted_at = find_posted_at(
        fields.get("posted"), metadata, time_node.attributes.get("datetime") if time_node else None,
        page.fetched_at, language,
    )
    location = find_location(fields.get("location"), metadata, scope)

    scope = text[:TRUNCATED_TEXT_CHARS] if budget.expired() else scope
    findings = Findings(
        text=scope,
        title=ad_title,
        entities=tuple(entities),
        ages=tuple(age_spans),
        ethnicities=tuple(ethnicity_spans),
        providers=tuple(provider_spans),
        has_price=price is not None and price.amount is not None,
        language=language,
    )
    hits = match_indicators(findings, max_evidence=limits.evidence_spans, truncated=truncated)
    risk, explanation, escalate = score(hits)
    signature = ad_minhash(ad_title, text[:TRUNCATED_TEXT_CHARS] if budget.expired() else text)
    if budget.spent:
        truncated.add("analysis_seconds")
    for limit in truncated - scan.truncated:
        LIMITS_HIT.labels(limit).inc()

    def values(entity_type: str) -> list[str]:
        return _unique([e.value for e in entities if e.type == entity_type])

    return AdDocument(
        ad_key=ad_key(page.profile_id, page.ad_id, page.canonical_url),
        profile_id=page.profile_id,
        network=page.network,
        job_id=page.job_id,
        record_id=page.record_id,
        url=page.final_url or page.url,
        canonical_url=page.canonical_url,
        ad_id=page.ad_id,
        page_type=page.page_type,
        country=region or page.country,
        language=language,
        title=ad_title,
        text=text,
        price=price,
        location=location,
        posted_at=posted_at,
        image_urls=image_urls(tree, page.final_url or page.url, metadata) if tree is not None else [],
        metadata=metadata,
        entities=entities,
        urls=values("url"),
        **{name: values(entity_type) for entity_type, name in ENTITY_FIELDS.items()},
        ages=sorted({age for age, _ in age_spans}),
        ethnicities=_unique([name for name, _ in ethnicity_spans]),
        providers=max((count for count, _ in provider_spans), default=None),
        indicators=hits,
        indicator_ids=[hit.id for hit in hits],
        categories=_unique([hit.category for hit in hits]),
        risk=risk,
        risk_explanation=explanation,
        escalate=escalate,
        content_hash=content_hash(ad_title, text),
        analyzer_version=ANALYZER_VERSION,
        signature=signature_values(signature),
        cluster_id=cluster_id(signature),
        fetched_at=page.fetched_at,
        analysis_truncated=bool(truncated),
        truncated_by=sorted(truncated),
    )
