"""The image worker: ad events in, image facts, OCR'd entities and photo links onto the ad.

Its own consumer group on the ad-events topic, so image work scales apart from enrichment. It
runs after text enrichment and decides from the ad as indexed: nothing is fetched for an ad on
Tor, for an escalated ad, or for a site whose profile does not opt in (``images:``). Bytes live
in memory only (docs/images.md). The ad is updated partially, with only the image fields and the
entity lists, under optimistic concurrency, so what the enrich worker writes is never clobbered
(and the enrich worker keeps these findings when it merges the ad again, see
``pipelines.indexer.keep_image_findings``).

``ImageHandler`` handles one event; ``ImagesConsumer`` plugs it into the shared consumer loop.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from pipelines.image_fetch import FetchFailed, FetchPolicy, ImageFetcher
from pipelines.image_links import Linker, is_hub
from pipelines.images import ImageFacts, ImageRejected, analyse, image_entities
from pipelines.indexer import ElasticUnavailable, Stored, merge_entity
from pipelines.network_links import LinkPublisher
from pipelines.regions import candidate_regions
from vigil.core.addresses import parse_networks
from vigil.core.config import Settings
from vigil.core.consumer import Batch, ConsumerLoop, Handler
from vigil.core.metrics import IMAGE_ADS, IMAGE_ERRORS, IMAGE_SECONDS, IMAGES
from vigil.core.profiles import ProfileError, SiteProfile, find_profile
from vigil.core.records import ENTITY_FIELDS, AdDocument, AdEvent, Entity, ImageRef, doc_id, is_network_event

log = structlog.get_logger(__name__)

STAGE = "images"
MISSING_AD_WAIT = 15.0
CONFLICT_ROUNDS = 5


class Profiles:
    """Profiles by id from ``profiles_dir``, re-read every ``reload`` seconds (edits take effect)."""

    def __init__(self, directory: Path, reload: float):
        self.directory = directory
        self.reload = reload
        self._cache: dict[str, tuple[float, SiteProfile | None]] = {}

    def get(self, profile_id: str) -> SiteProfile | None:
        read_at, profile = self._cache.get(profile_id, (0.0, None))
        if time.monotonic() - read_at > self.reload:
            try:
                profile = find_profile(profile_id, self.directory)
            except ProfileError as exc:
                log.warning(
                    "no usable profile; its images are not analysed", profile=profile_id, error=str(exc)
                )
                profile = None
            self._cache[profile_id] = (time.monotonic(), profile)
        return profile


def _refusal(network: str, escalate: bool) -> str | None:
    if network == "tor":
        return "skipped_tor"
    if escalate:
        return "skipped_escalated"
    return None


class ImageHandler:
    """Everything one ad event needs: decide, fetch, analyse, link, write."""

    def __init__(self, settings: Settings, es, profiles: Profiles, fetcher: ImageFetcher | None = None):
        self.settings = settings
        self.es = es
        self.indices = settings.es.indices
        self.profiles = profiles
        self.fetcher = fetcher or ImageFetcher()
        self.linker = Linker(es, self.indices.entities)
        self.deny = parse_networks(settings.crawl.deny_networks)
        self.network_links: LinkPublisher | None = None  # set by the worker: photo links join networks

    def handle(self, event: AdEvent) -> str:
        """The outcome label; raises ElasticUnavailable when Elasticsearch cannot answer now."""
        outcome = _refusal(event.network, event.escalate)
        profile = self.profiles.get(event.profile_id) if outcome is None else None
        if outcome is None and (profile is None or profile.images is None):
            outcome = "not_enabled"
        if outcome is None and profile.network == "tor":
            outcome = "skipped_tor"
        stored = self._read_ad(event.ad_key) if outcome is None else None
        if outcome is None and stored is None:
            outcome = "missing"
        if outcome is None:
            outcome = self._refused(event.ad_key, stored)
        if outcome is None:
            outcome = self._analyse_ad(profile, stored, event.ad_key)
        IMAGE_ADS.labels(outcome=outcome).inc()
        log.info("ad handled", ad_key=event.ad_key, outcome=outcome)
        return outcome

    def _refused(self, ad_key: str, stored: Stored | None) -> str | None:
        """Why the ad's images must not be requested, from the ad as indexed and its history: on
        Tor, escalated now, or escalated in any earlier version (an edit that drops the words that
        raised the flag does not clear it for images)."""
        if stored is None:
            return "missing"
        refusal = _refusal(stored.source.get("network", "clearnet"), bool(stored.source.get("escalate")))
        if refusal is None and self._escalated_before(ad_key):
            refusal = "skipped_escalated"
        return refusal

    def _escalated_before(self, ad_key: str) -> bool:
        found = self._call(
            lambda: self.es.count(
                index=self.indices.ad_versions,
                query={"bool": {"filter": [{"term": {"ad_key": ad_key}}, {"term": {"escalate": True}}]}},
                ignore_unavailable=True,
            )
        )
        return int(found.get("count") or 0) > 0

    def _analyse_ad(self, profile: SiteProfile, stored: Stored, ad_key: str) -> str:
        options = profile.images
        urls = list(stored.source.get("image_urls") or [])[: options.max_per_ad]
        if not urls:
            return "no_images"
        if set(urls) <= {i.get("url") for i in stored.source.get("images") or []}:
            return "unchanged"  # a new text, the same pictures: their facts are kept (keep_image_findings)
        policy = FetchPolicy(
            allow_private=profile.allow_private_network,
            deny=self.deny,
            max_bytes=options.max_bytes,
            timeout=min(profile.politeness.timeout, self.settings.images.timeout_seconds),
            delay=profile.politeness.download_delay,
            obey_robots=profile.politeness.obey_robots,
            user_agent=profile.politeness.user_agent or self.settings.images.user_agent,
        )
        language = stored.source.get("language") or profile.language
        facts: list[ImageFacts] = []
        for url in urls:
            # again at fetch time: the ad may have been escalated since the decision above
            refused = self._refused(ad_key, self._read_ad(ad_key, wait=0))
            if refused is not None:
                IMAGE_ERRORS.labels(cause="refused_at_fetch").inc()
                return refused  # nothing of this ad's images is written
            fact = self._one(url, policy, options, language)
            if fact is not None:
                facts.append(fact)
        doc = AdDocument.model_validate(stored.source)
        regions = candidate_regions(doc.country, doc.language)
        found: list[Entity] = []
        for fact in facts:
            for entity in image_entities(fact.ocr_text, regions):
                if all((entity.type, entity.value) != (e.type, e.value) for e in found):
                    found.append(entity)
        links = self._link(facts, doc)
        self._write_entities(doc, found)
        refs = [
            ImageRef(
                url=f.url,
                sha256=f.sha256,
                phash=f.phash,
                link=links.get(f.url),
                width=f.width,
                height=f.height,
            )
            for f in facts
        ]
        ocr_text = "\n".join(f.ocr_text for f in facts if f.ocr_text)
        self._update_ad(doc.ad_key, refs, ocr_text, found)
        self._publish_network_link(doc.ad_key)
        return "analysed" if facts else "no_usable_images"

    def _publish_network_link(self, ad_key: str) -> None:
        """The ad with its image entities, for the network worker (docs/networks.md)."""
        if self.network_links is None:
            return
        updated = self._read_ad(ad_key, wait=0)
        if updated is not None:
            self.network_links.publish([AdDocument.model_validate(updated.source)])
            self.network_links.forget()

    def _one(self, url: str, policy: FetchPolicy, options, language: str | None) -> ImageFacts | None:
        started = time.perf_counter()
        try:
            data = self.fetcher.fetch(url, policy)
            facts = analyse(
                url, data, max_pixels=self.settings.images.max_pixels, hashes=options.hashes,
                read_text=options.ocr, language=language, timeout=self.settings.images.timeout_seconds,
            )  # fmt: skip
        except (FetchFailed, ImageRejected) as exc:
            IMAGE_ERRORS.labels(cause=exc.cause).inc()
            log.info("image not analysed", url=url[:300], cause=exc.cause, error=str(exc)[:300])
            return None
        except (subprocess.SubprocessError, OSError) as exc:
            IMAGE_ERRORS.labels(cause="ocr_failed").inc()
            log.warning("OCR failed", url=url[:300], error=f"{type(exc).__name__}: {str(exc)[:300]}")
            return None
        finally:
            IMAGE_SECONDS.observe(time.perf_counter() - started)
        IMAGES.labels(outcome="analysed").inc()
        return facts

    def _link(self, facts: list[ImageFacts], doc: AdDocument) -> dict[str, str]:
        """url -> image entity for each linkable photo (not a hub, not an icon); counts every one."""
        config = self.settings.images
        values: dict[str, str] = {}
        for fact in facts:
            if fact.phash is None or min(fact.width, fact.height) < config.min_side:
                continue
            values[fact.url] = self._call(lambda f=fact: self.linker.link(f.phash))
        entities = self._merge_entities(
            doc, [{"type": "image", "value": v, "kind": None} for v in values.values()]
        )
        hubs = {e["value"] for e in entities if is_hub(e, config.hub_min_ads, config.hub_min_sites)}
        return {url: value for url, value in values.items() if value not in hubs}

    def _write_entities(self, doc: AdDocument, found: list[Entity]) -> None:
        self._merge_entities(doc, [{"type": e.type, "value": e.value, "kind": e.kind} for e in found])

    def _merge_entities(self, doc: AdDocument, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Merge this ad into each entity (as the enrich worker's indexer does), under optimistic
        concurrency; returns the entities as written. Image entities carry their hash bands and
        hub flag."""
        from pipelines.images import hash_bands

        config = self.settings.images
        unique = {f"{r['type']}:{r['value']}": r for r in refs}
        result: dict[str, dict[str, Any]] = {}
        pending = dict(unique)
        for _ in range(CONFLICT_ROUNDS):
            if not pending:
                break
            ids = {doc_id(key): key for key in pending}
            found = self._call(
                lambda ids=ids: self.es.mget(index=self.indices.entities, ids=list(ids), realtime=True)
            )["docs"]
            ops: list[dict[str, Any]] = []
            order: list[str] = []
            for item in found:
                key = ids[item["_id"]]
                ref = pending[key]
                existing = item["_source"] if item.get("found") else None
                merged = merge_entity(existing, ref, doc)
                entity = merged or existing
                if ref["type"] == "image":
                    entity = {**entity, "bands": hash_bands(ref["value"])}
                    entity["hub"] = is_hub(entity, config.hub_min_ads, config.hub_min_sites)
                    if existing is not None and entity.get("hub") and not existing.get("hub"):
                        self._unlink_hub(ref["value"], entity.get("ad_keys") or [])
                result[key] = entity
                if existing is not None and entity == existing:
                    continue
                meta: dict[str, Any] = {
                    "_index": item["_index"] if existing else self.indices.entities,
                    "_id": item["_id"],
                }
                if existing is None:
                    ops += [{"create": meta}, entity]
                else:
                    meta.update(if_seq_no=item["_seq_no"], if_primary_term=item["_primary_term"])
                    ops += [{"index": meta}, entity]
                order.append(key)
            if not ops:
                break
            response = self._call(lambda ops=ops: self.es.bulk(operations=ops, refresh="wait_for"))
            pending = {}
            for key, item in zip(order, response["items"], strict=True):
                ((_, outcome),) = item.items()
                if outcome.get("status") == 409:
                    pending[key] = unique[key]
                elif outcome.get("status", 500) >= 300:
                    IMAGE_ERRORS.labels(cause="entity_rejected").inc()
                    log.error("entity rejected", id=outcome.get("_id"), error=outcome.get("error"))
        if pending:
            raise ElasticUnavailable(f"entity version conflicts persisted over {CONFLICT_ROUNDS} rounds")
        return list(result.values())

    def _unlink_hub(self, value: str, ad_keys: list[str]) -> None:
        """A photo just became a hub: the ads that linked through it no longer do."""
        log.info("image entity became a hub; unlinking its ads", value=value, ads=len(ad_keys))
        for key in ad_keys:
            self._patch_ad(key, lambda source, v=value: _without_link(source, v))
            self._publish_network_link(key)

    def _update_ad(self, ad_key: str, refs: list[ImageRef], ocr_text: str, found: list[Entity]) -> None:
        def patch(source: dict[str, Any]) -> dict[str, Any]:
            kept = [e for e in source.get("entities") or [] if e.get("source") != "image"]
            links = list(dict.fromkeys(r.link for r in refs if r.link))
            new = [e.model_dump(mode="json") for e in found] + [
                Entity(type="image", value=link, raw=link, source="image").model_dump(mode="json")
                for link in links
            ]
            entities = kept + new
            update: dict[str, Any] = {
                "images": [r.model_dump(mode="json") for r in refs],
                "image_hashes": links,
                "ocr_text": ocr_text,
                "entities": entities,
            }
            for entity_type, attribute in ENTITY_FIELDS.items():
                update[attribute] = list(
                    dict.fromkeys(e["value"] for e in entities if e["type"] == entity_type)
                )
            return update

        self._patch_ad(ad_key, patch)

    def _patch_ad(self, ad_key: str, patch) -> None:
        """A partial update of the fields ``patch(source)`` returns, retried on version conflicts."""
        from elasticsearch import ConflictError

        for _ in range(CONFLICT_ROUNDS):
            stored = self._read_ad(ad_key, wait=0)
            if stored is None:
                return
            update = patch(stored.source)
            if all(stored.source.get(k) == v for k, v in update.items()):
                return
            try:
                self._call(
                    lambda s=stored, u=update: self.es.update(
                        index=s.index,
                        id=doc_id(ad_key),
                        doc=u,
                        if_seq_no=s.seq_no,
                        if_primary_term=s.primary_term,
                    )
                )
                return
            except ConflictError:
                continue
        raise ElasticUnavailable(f"ad {ad_key}: version conflicts persisted over {CONFLICT_ROUNDS} rounds")

    def _read_ad(self, ad_key: str, wait: float = MISSING_AD_WAIT) -> Stored | None:
        """The ad as indexed; an event is published just before its ad is written, so wait a little."""
        deadline = time.monotonic() + wait
        while True:
            item = self._call(
                lambda: self.es.options(ignore_status=404).get(
                    index=self.indices.ads, id=doc_id(ad_key), realtime=True
                )
            )
            if item.get("found"):
                return Stored(item["_index"], item["_seq_no"], item["_primary_term"], item["_source"])
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.5)

    def _call(self, request):
        from elasticsearch import ApiError, TransportError

        try:
            return request()
        except TransportError as exc:
            raise ElasticUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except ApiError as exc:
            if exc.meta.status == 409:
                raise
            if exc.meta.status in (429, 500, 502, 503, 504) or exc.meta.status == 404:
                raise ElasticUnavailable(f"HTTP {exc.meta.status}: {exc.message}") from exc
            raise


def _without_link(source: dict[str, Any], value: str) -> dict[str, Any]:
    return {
        "image_hashes": [h for h in source.get("image_hashes") or [] if h != value],
        "entities": [
            e
            for e in source.get("entities") or []
            if not (e.get("type") == "image" and e.get("value") == value)
        ],
        "images": [
            {**i, "link": None if i.get("link") == value else i.get("link")}
            for i in source.get("images") or []
        ],
    }


class ImagesConsumer(Handler):
    """The image worker's part in the shared consumer loop (vigil.core.consumer): Elasticsearch
    outages are retriable there (ElasticUnavailable), an event that is not an AdEvent is
    dead-lettered, and handling an event twice writes the same facts (at-least-once is safe)."""

    name = STAGE

    def __init__(self, settings: Settings):
        self.settings = settings

    def start(self, loop: ConsumerLoop) -> None:
        from PIL import Image

        from vigil.core.elastic import client

        Image.MAX_IMAGE_PIXELS = self.settings.images.max_pixels
        profiles = Profiles(self.settings.profiles_dir, self.settings.images.profile_reload_seconds)
        self.images = ImageHandler(self.settings, client(self.settings.es, max_retries=0), profiles)
        self.images.network_links = LinkPublisher(
            loop.producer, self.settings.kafka.topics.network_links, self.settings.networks
        )
        log.info("image worker started", profiles=str(self.settings.profiles_dir))

    def handle(self, batch: Batch) -> None:
        for record in batch.records:
            if is_network_event(record.value or b""):
                continue  # network.* events share the topic; they name no images
            try:
                event = AdEvent.from_bytes(record.value or b"")
            except ValidationError as exc:
                IMAGE_ADS.labels(outcome="dead_letter").inc()
                batch.dead_letter(record, "schema", str(exc))
                continue
            self.images.handle(event)


def run_image_worker(settings: Settings, *, group: str | None = None, batch_size: int = 10) -> int:
    """Consume ad events until SIGTERM/SIGINT; small batches, since one ad can take seconds."""
    return ConsumerLoop(
        settings,
        ImagesConsumer(settings),
        group=group or settings.images.group_id,
        topic=settings.kafka.topics.ad_events,
        batch_size=batch_size,
        max_poll_interval_ms=600_000,
    ).run()
