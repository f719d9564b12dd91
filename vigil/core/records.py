"""The record contracts between Vigil's stages.

Every Kafka topic carries one of these models as a JSON value. Stages agree on these and on
nothing else: a crawler never imports a pipeline, a pipeline never imports a crawler.
Documented in docs/records.md; bump ``SCHEMA_VERSION`` on an incompatible change.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

SCHEMA_VERSION = 3  # 3: evidence (RawPage.capture) and versions (AdEvent diffs); older records still parse

Network = Literal["clearnet", "tor"]
PageType = Literal["listing", "ad"]
RenderMode = Literal["http", "playwright"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION

    def to_bytes(self) -> bytes:
        """The record as JSON: pydantic-core writes the bytes itself (``model_dump_json().encode()``
        builds a str and copies it again, half as fast on a page with non-ASCII text)."""
        return to_json(self)

    @classmethod
    def from_bytes(cls, value: bytes | str):
        """Parse a Kafka value; raises pydantic.ValidationError on a wrong schema."""
        return cls.model_validate_json(value)


class Capture(BaseModel):
    """Where the bytes of one fetch, as received, are kept as evidence: a WARC response record in
    the evidence store (docs/evidence.md). Written by the crawler, which alone has those bytes."""

    warc_file: str = Field(description="object name of the WARC file in the evidence store")
    offset: int = Field(description="byte offset of the response record in that (gzip) WARC file")
    length: int = Field(description="bytes of the record (its gzip member) from offset")
    record_id: str = Field(description="WARC-Record-ID of the response record, <urn:uuid:...>")
    payload_sha256: str = Field(description="hex SHA-256 of the payload as received, before decoding")
    screenshot: str | None = Field(None, description="object name of the full-page PNG (render_js only)")
    screenshot_sha256: str | None = None


class RawPage(Record):
    """One fetched page, or one ad item cut out of a page, as published by the crawlers to the
    raw-pages topic (key: canonical_url)."""

    record_id: str = Field(default_factory=new_id)
    profile_id: str
    network: Network = "clearnet"
    job_id: str
    url: str
    canonical_url: str
    final_url: str
    status: int
    content_type: str = ""
    headers: dict[str, str] = {}
    fetched_at: datetime = Field(default_factory=utcnow)
    depth: int = 0
    referrer: str | None = None
    page_type: PageType
    ad_id: str | None = None
    render_mode: RenderMode = "http"
    country: str | None = None
    language_hint: str | None = None
    fields: dict[str, str] = Field(default_factory=dict, description="values of the profile's field selectors")
    body: str
    body_sha256: str
    body_bytes: int = Field(0, description="size of the body as fetched, before truncation")
    decode_errors: bool = Field(False, description="undecodable bytes were replaced with U+FFFD")
    truncated: bool = False
    baseline: bool = Field(False, description="set from the crawl job: first crawl of a site, raise no alerts")
    item_of: str | None = Field(
        None, description="an item (ads.items): the canonical URL of the page or response it was cut from"
    )
    capture: Capture | None = Field(None, description="the fetch in the evidence store; None when capture is off")


class CrawlJob(Record):
    """A request to crawl one profile, on the crawl-jobs topic (key: profile_id)."""

    job_id: str = Field(default_factory=new_id)
    profile_id: str
    reason: str = "manual"
    requested_at: datetime = Field(default_factory=utcnow)
    max_pages: int | None = None
    baseline: bool = Field(False, description="first crawl of a newly watched site: raise no new-ad alerts")
    incremental: bool = Field(False, description="stop paging once a listing holds only known ads")
    profile_path: str | None = Field(None, description="the profile file, when it is not in profiles_dir")


class CrawlSummary(Record):
    """How one crawl went: printed by ``vigil crawl --json`` and returned to the crawl worker."""

    job_id: str
    profile_id: str
    pages: int = 0
    ads: int = 0
    ad_ids: list[str] = []
    published: int = 0
    errors: dict[str, int] = {}
    ok: bool = False
    skipped: dict[str, int] = {}
    publish_failures: dict[str, int] = {}
    finish_reason: str = ""
    message: str = ""
    seconds: float = 0.0
    truncated: int = 0
    browser_refused: int = Field(0, description="requests a rendered page made that the guard refused")


JobState = Literal["queued", "running", "finished", "failed"]


class JobStatus(Record):
    """Progress of a crawl job, on the job-status topic (key: job_id) and in the vigil-jobs index."""

    job_id: str
    profile_id: str
    state: JobState
    reason: str = "manual"
    baseline: bool = Field(False, description="the job's ads raise no new-ad alerts (see docs/alerts.md)")
    attempt: int = 1
    pages: int = 0
    ads: int = 0
    new_ads: int = 0
    published: int = 0
    errors: dict[str, int] = {}
    message: str = ""
    requested_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    worker: str = ""


EventType = Literal["ad.new", "ad.changed"]
ChangeKind = Literal["added", "removed", "changed"]


class FieldChange(BaseModel):
    """One field-level difference between two versions of an ad (``pipelines.diffs``): a contact
    added or removed, or a value replaced (phone X -> Y, price, location, title). Bounded."""

    field: str
    change: ChangeKind
    before: str | None = None
    after: str | None = None

    def describe(self) -> str:
        """In words, e.g. ``phones: +447911123456 -> +447922654321`` (values as the ad gave them:
        an alert neutralises them before they leave Vigil)."""
        if self.change == "changed":
            return f"{self.field}: {self.before} -> {self.after}"
        if self.change == "added":
            return f"{self.field}: + {self.after}"
        return f"{self.field}: - {self.before}"


class AdEvent(Record):
    """A new or changed ad, on the ad-events topic (key: ad_key), consumed by the alerts worker."""

    event_id: str = Field(default_factory=new_id)
    event_type: EventType
    ad_key: str
    profile_id: str
    network: Network = "clearnet"
    job_id: str | None = None
    baseline: bool = False
    url: str
    title: str = ""
    text: str = Field("", description="main text, possibly shortened")
    country: str | None = None
    language: str | None = None
    entities: dict[str, list[str]] = Field(default_factory=dict, description="type -> normalised values")
    indicators: list[str] = []
    risk: int = 0
    escalate: bool = False
    content_hash: str = ""
    cluster_id: str | None = None
    first_seen: datetime | None = None
    occurred_at: datetime = Field(default_factory=utcnow)
    version: int = Field(1, description="the ad's version this event is about (see AdVersion)")
    changes: list[FieldChange] = Field(default_factory=list, description="ad.changed: the diff from the last version")
    text_diff: str = Field("", description="ad.changed: a bounded summary of the text's changes")


NetworkEventType = Literal["network.grew", "network.new_country"]


class NetworkEvent(Record):
    """A network grew or reached a new country, on the ad-events topic (key: network_id).

    Published by the network worker (pipelines/network_worker.py); the alerts worker tells it
    from an AdEvent by ``event_type``. ``event_id`` is derived from the network, the type and the
    new size or country, so a replay publishes the same ids.
    """

    event_id: str
    event_type: NetworkEventType
    network_id: str
    size: int
    previous_size: int = 0
    countries: list[str] = []
    new_countries: list[str] = []
    sites: list[str] = []
    ad_key: str = Field(description="the ad whose observation changed the network")
    profile_id: str = ""
    url: str = ""
    title: str = ""
    evidence: list[str] = Field(default_factory=list, description="the links that joined it, in words")
    occurred_at: datetime = Field(default_factory=utcnow)


def is_network_event(value: bytes) -> bool:
    """Whether an events-topic value is a NetworkEvent (consumers of ad events skip or route it)."""
    return b'"event_type":"network.' in value[:400].replace(b" ", b"")


class LinkRecord(Record):
    """What the network worker needs to link one enriched ad, on the network-links topic.

    Published by enrich workers for every new or changed ad (key: a constant, so that one
    consumer applies all merges in one order; see docs/networks.md).
    """

    ad_key: str
    record_id: str | None = None
    profile_id: str
    country: str | None = None
    url: str = ""
    title: str = ""
    seen_at: datetime | None = None
    entities: dict[str, list[str]] = Field(default_factory=dict, description="type -> normalised values")
    bands: list[str] = Field(default_factory=list, description="LSH band keys of the stored MinHash")
    shingles: list[int] = Field(default_factory=list, description="32-bit hashes of the text's shingles")


class DeadLetter(Record):
    """A record a consumer could not process, with the reason; on the dead-letter topic.

    The original stays where it came from (``source_topic``/``partition``/``offset``, checked by
    ``original_sha256``); ``original`` is an excerpt of at most ``kafka.dead_letter_excerpt_bytes``.
    """

    stage: str
    consumer: str = Field("", description="the consumer group that gave up on the record")
    error_type: str
    error: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    original: str = Field(description="the start of the original value, decoded as UTF-8 with replacement")
    original_bytes: int = 0
    original_sha256: str = ""
    original_truncated: bool = False
    failed_at: datetime = Field(default_factory=utcnow)

    model_config = ConfigDict(extra="forbid")


class Span(BaseModel):
    """Where in the ad's text something was found (character offsets into ``AdDocument.text``)."""

    text: str
    start: int
    end: int


ENTITY_FIELDS: dict[str, str] = {
    "phone": "phones",
    "email": "emails",
    "wallet": "wallets",
    "handle": "handles",
    "onion": "onions",
    "image": "image_hashes",  # photo links, written by the image worker (docs/images.md)
}
"""Contact entity type -> the AdDocument list (and vigil-ads field) holding its values."""


class Entity(BaseModel):
    """One normalised entity found in an ad.

    ``type`` is one of phone, email, wallet, handle, url, onion, image; ``value`` is the normalised form
    that watchlists and the entities index use (phone: E.164; email: lower-case; wallet: the
    address as checksummed/canonical; handle: ``platform:name`` lower-case; onion: lower-case host;
    image: the perceptual hash that stands for a photo and its near-identical copies).
    """

    type: str
    value: str
    kind: str | None = Field(None, description="wallet chain (btc, eth, ...) or handle platform")
    raw: str = ""
    start: int = -1
    end: int = -1
    obfuscated: bool = False
    source: Literal["image"] | None = Field(None, description="image: read from the ad's pictures, not its text")


class IndicatorHit(BaseModel):
    id: str
    category: str
    weight: float
    source: str
    escalate: bool = False
    evidence: list[Span] = []


class Price(BaseModel):
    amount: float | None = None
    currency: str | None = None
    raw: str = ""


class ImageRef(BaseModel):
    """What is kept of one of an ad's images: never the image itself (see docs/images.md)."""

    url: str
    sha256: str
    phash: str | None = Field(None, description="64-bit pHash, 16 hex digits")
    link: str | None = Field(None, description="the image entity it links through (None: no link, e.g. a hub)")
    width: int
    height: int


class AdDocument(Record):
    """One ad as indexed in the ``vigil-ads`` alias (document id: ``ad_key``)."""

    ad_key: str = Field(description="profile_id + ':' + ad_id, else the canonical URL")
    profile_id: str
    network: Network = "clearnet"
    job_id: str | None = None
    record_id: str | None = None
    url: str
    canonical_url: str
    ad_id: str | None = None
    page_type: PageType = "ad"
    country: str | None = None
    language: str | None = None
    title: str = ""
    text: str = ""
    price: Price | None = None
    location: str | None = None
    posted_at: datetime | None = None
    image_urls: list[str] = []
    images: list[ImageRef] = Field(default_factory=list, description="written by the image worker only")
    image_hashes: list[str] = Field(
        default_factory=list, description="image entities (photo links) of this ad; written by the image worker"
    )
    ocr_text: str = Field("", description="text read from the ad's images; written by the image worker")
    metadata: dict[str, Any] = Field(default_factory=dict, description="JSON-LD / OpenGraph fields")
    entities: list[Entity] = []
    phones: list[str] = []
    emails: list[str] = []
    wallets: list[str] = []
    handles: list[str] = []
    urls: list[str] = []
    onions: list[str] = []
    ages: list[int] = []
    ethnicities: list[str] = []
    providers: int | None = None
    indicators: list[IndicatorHit] = []
    indicator_ids: list[str] = []
    categories: list[str] = []
    risk: int = 0
    risk_explanation: str = ""
    escalate: bool = False
    content_hash: str = ""
    analyzer_version: str = Field("", description="the analyser that produced this content (see pipelines.analysis)")
    signature: list[int] = Field(default_factory=list, description="near-duplicate signature (MinHash)")
    cluster_id: str | None = None
    analysis_truncated: bool = Field(
        False, description="a bound cut this ad's analysis or document short (see truncated_by)"
    )
    truncated_by: list[str] = Field(
        default_factory=list, description="the limits that applied: LimitsSettings key names"
    )
    network_id: str | None = Field(None, description="set by the network worker (docs/networks.md)")
    fetched_at: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    seen_count: int = 1
    record_ids: list[str] = Field(
        default_factory=list,
        description="the last raw records merged into this ad (bounded); a re-delivered record is a no-op",
    )
    capture: Capture | None = Field(None, description="the newest fetch of this ad in the evidence store")
    version: int = Field(1, description="the number of the AdVersion this content is (1-based)")

    def entity_values(self) -> dict[str, list[str]]:
        """type -> normalised values, the form carried by AdEvent.entities."""
        return {entity_type: getattr(self, name) for entity_type, name in ENTITY_FIELDS.items()}


class SeenCapture(Capture):
    """A capture as a version lists it: with when it was fetched, and when its screenshot was
    deleted (an ad flagged for escalation keeps no screenshot)."""

    fetched_at: datetime | None = None
    page_record_id: str | None = Field(None, description="RawPage.record_id of the fetch")
    screenshot_deleted_at: datetime | None = None


class AdVersion(Record):
    """One version (one content) of an ad, in the ``vigil-ad-versions`` alias (docs/records.md).

    Document id: ``version_id(ad_key, version, content_hash)``. Written by the enrich worker
    (``pipelines.versions``) from what the indexer reports: a new ad is version 1, each change of
    content the next version (an ad that returns to earlier content gets a new version too);
    another fetch of the same content moves ``last_seen`` on and adds its capture.
    """

    ad_key: str
    profile_id: str
    network: Network = "clearnet"
    version: int = Field(1, ge=1)
    content_hash: str
    previous_hash: str | None = Field(None, description="content_hash of the version before")
    analyzer_version: str = ""
    url: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    seen_count: int = 1
    title: str = ""
    text: str = ""
    price: Price | None = None
    location: str | None = None
    phones: list[str] = []
    emails: list[str] = []
    wallets: list[str] = []
    handles: list[str] = []
    onions: list[str] = []
    entities: dict[str, list[str]] = Field(default_factory=dict, description="type -> normalised values")
    indicator_ids: list[str] = []
    risk: int = 0
    escalate: bool = False
    captures: list[SeenCapture] = Field(
        default_factory=list, description="the version's first capture and its most recent ones (bounded)"
    )
    captures_seen: int = Field(0, description="captures of this version, also those no longer listed")
    changes: list[FieldChange] = Field(default_factory=list, description="the diff from the previous version")
    text_diff: str = ""
    record_ids: list[str] = Field(default_factory=list, description="raw records merged (bounded): re-delivery is a no-op")
    screenshot_deleted_at: datetime | None = Field(
        None, description="when this version's screenshots were deleted (the ad was flagged for escalation)"
    )
    updated_at: datetime = Field(default_factory=utcnow)


def version_id(key: str, version: int, content_hash: str) -> str:
    """The AdVersion document id: deterministic, so re-delivery and replay write the same document."""
    return doc_id(f"{key}#v{version}#{content_hash}")


MAX_ID_BYTES = 512


def ad_key(profile_id: str, ad_id: str | None, canonical_url: str) -> str:
    """An ad's identity: the site's own ad id when the profile extracts one, else its canonical URL."""
    return f"{profile_id}:{ad_id}" if ad_id else canonical_url


def doc_id(key: str) -> str:
    """The key itself as Elasticsearch document id, hashed when longer than ES's 512-byte limit."""
    if len(key.encode("utf-8")) <= MAX_ID_BYTES:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
