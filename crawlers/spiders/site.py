"""The one generic spider: a site profile says where to start, what to follow and what an ad is.

    scrapy crawl site -a profile=ID_OR_PATH [-a job_id=...] [-a max_pages=N]
                      [-a incremental=1 -a known_ads=FILE] [-a baseline=1]

Listing pages (start pages and pages reached through ``follow`` rules or ``pagination``) are
searched for ad links (``ads.url_regex``), for ads inside the page (``ads.items``, crawlers/items.py)
and for more listing pages; ad pages are leaves. Every HTML page (or JSON response, for
``source: json``) fetched becomes one RawPage record, and so does every item; every request that
yields none is counted by cause. With ``probe`` (the profile workbench) nothing beyond the start
pages is fetched, except a few item details: the links it would follow are kept in ``self.probe``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from w3lib.url import canonicalize_url

from crawlers.config import vigil_settings
from crawlers.errors import cause_of
from crawlers.evidence import META as CAPTURE_META
from crawlers.items import (
    Cut,
    Item,
    detail_fields,
    detail_url,
    embedded_json,
    html_in_json,
    html_items,
    json_items,
    next_page,
    read_json,
)
from crawlers.pages import (
    canonical_url,
    content_type,
    decode_body,
    extract_fields,
    is_html,
    is_json,
    is_xml,
    record_headers,
    xml_selector,
)
from crawlers.profile_settings import profile_settings
from crawlers.rendering import render_meta, screenshot_height
from crawlers.routing import route
from crawlers.validators import Validators
from vigil.core import metrics
from vigil.core.profiles import FollowRule, SiteProfile, find_profile
from vigil.core.records import RawPage, new_id

logger = logging.getLogger(__name__)

LINK_XPATH = "./@href | .//a/@href | .//area/@href"
PROBE_DETAILS = 3


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def read_known_ads(path: str | Path) -> set[str]:
    """Known ad ids (or canonical ad URLs), one a line; blank lines and '#' comments ignored."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}


class SiteSpider(scrapy.Spider):
    name = "site"

    def __init__(
        self,
        profile: str | SiteProfile | None = None,
        job_id: str | None = None,
        reason: str = "manual",
        max_pages: int | str | None = None,
        incremental: bool | str = False,
        known_ads: str | Path | Collection[str] | None = None,
        baseline: bool | str = False,
        probe: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if profile is None:
            raise ValueError("the site spider needs a profile: scrapy crawl site -a profile=ID_OR_PATH")
        self.profile_ref = profile
        self.job_id = job_id or new_id()
        self.reason = reason
        self.max_pages_arg = int(max_pages) if max_pages not in (None, "") else None
        self.incremental = _flag(incremental)
        self.baseline = _flag(baseline)
        known = read_known_ads(known_ads) if isinstance(known_ads, str | Path) else set(known_ads or ())
        self.is_known: Callable[[str], bool] = known.__contains__
        self.knows_ads = bool(known)
        self.seen: set[str] = set()
        self.published: set[str] = set()
        self.items_read: set[str] = set()
        self.scheduled = 0
        self.pages = 0
        self.ad_ids: list[str] = []
        self.probe: dict[str, list] | None = (
            {"ad_links": [], "next": [], "details": [], "refused": []} if _flag(probe) else None
        )

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        config = vigil_settings(crawler.settings)
        profile = spider.profile_ref
        if not isinstance(profile, SiteProfile):
            profile = find_profile(profile, config.profiles_dir)
        spider.profile = profile
        spider.route = route(profile, config)
        spider.headers = profile.resolved_headers()
        spider.cookies = profile.resolved_cookies()
        spider.allowed_domains = profile.domains
        overrides = {**profile_settings(profile, config, spider.max_pages_arg), **spider.route.settings}
        overrides["VIGIL_RESOLVE_LOCALLY"] = spider.route.resolve_locally
        crawler.settings.setdict(overrides, priority="spider")
        spider.max_pages = overrides["VIGIL_MAX_PAGES"]
        spider.max_body_bytes = config.crawl.max_body_bytes
        spider.field_chars = config.limits.field_chars
        spider.html_types = crawler.settings.getlist("VIGIL_HTML_TYPES")
        spider.header_names = crawler.settings.getlist("VIGIL_RECORD_HEADERS")
        spider.items_limit = config.crawl.max_items_per_page
        spider.screenshot_height = screenshot_height(profile, config, crawler.settings) if spider.probe is None else None
        folder = config.crawl.validators_dir or config.state_dir / "validators"
        spider.validators = None if spider.probe is not None else Validators(folder / f"{profile.id}.json")
        crawler.signals.connect(spider._save_validators, signal=scrapy.signals.spider_closed)
        return spider

    def _save_validators(self, reason: str = "") -> None:
        """Only after a crawl that ran to its end with every record delivered: a 304 next time must
        not hide items this crawl failed to publish."""
        if reason != "finished" or self.crawler.stats.get_value("vigil/publish_error"):
            return
        if self.validators is not None:
            try:
                self.validators.save()
            except OSError as exc:
                logger.warning("could not save the conditional-request validators: %s", exc)

    async def start(self):
        for url in self.profile.sitemap_urls:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.failed, headers=self.headers)
        for url in self.profile.start_urls:
            request = self._request(url, depth=0, referrer=None)
            if request is not None:
                yield request

    # -- requests ---------------------------------------------------------------------------

    def _request(
        self,
        url: str,
        depth: int,
        referrer: str | None,
        *,
        meta: dict[str, Any] | None = None,
        callback: Callable | None = None,
    ) -> scrapy.Request | None:
        """A request for a page not seen yet, within max_pages and max_depth; None otherwise."""
        key = canonical_url(url, self.profile.drop_query_params)
        if key in self.seen:
            return None
        if depth > self.profile.limits.max_depth:
            self.count("depth_limit", kind="skipped")
            return None
        is_ad = self.profile.ads.is_ad(url)
        if self.probe is not None and depth > 0 and not self._probe_allows(url, is_ad, callback):
            return None
        if self.scheduled >= self.max_pages:
            self.count("max_pages", kind="skipped")
            return None
        self.seen.add(key)
        self.scheduled += 1
        headers = dict(self.headers)
        if self._conditional(callback, is_ad):
            headers.update(self.validators.headers(key))
        return scrapy.Request(
            url,
            callback=callback or self.parse,
            errback=self.failed,
            headers=headers,
            cookies=self.cookies,
            priority=1 if is_ad or callback is not None else 0,
            meta={
                "vigil_referrer": referrer,
                "handle_httpstatus_list": [304],
                **render_meta(self.profile, "ad" if is_ad else "listing", self.screenshot_height),
                **(meta or {}),
            },
        )

    def _conditional(self, callback: Callable | None, is_ad: bool) -> bool:
        """Listings of an incremental re-crawl are requested conditionally: a 304 ends the paging
        there, so not when the profile never stops (new forum replies land on later pages)."""
        return (
            self.incremental
            and self.knows_ads
            and self.validators is not None
            and self.profile.ads.stop_rule != "never"
            and callback is None
            and not is_ad
        )

    def _probe_allows(self, url: str, is_ad: bool, callback: Callable | None) -> bool:
        """The workbench fetches the page asked for and a few item details; the rest is only listed."""
        if callback is not None and len(self.probe["details"]) < PROBE_DETAILS:
            self.probe["details"].append(url)
            return True
        self.probe["ad_links" if is_ad else "next"].append(url)
        return False

    # -- responses --------------------------------------------------------------------------

    def parse(self, response: Response):
        self.pages += 1
        metrics.PAGES_FETCHED.labels(self.profile.id, self.route.network).inc()
        if response.status == 304:
            self.count("not_modified", kind="skipped")
            return
        kind = "ad" if self.profile.ads.is_ad(response.url) else self.profile.source
        if not self._readable(response, kind):
            return
        final_key = canonical_url(response.url, self.profile.drop_query_params)
        if final_key in self.published:
            self.count("duplicate", kind="skipped")
            return
        view = self._view(response, kind)
        if view is None:
            return
        data, page = view
        self.published.add(final_key)
        self.seen.add(final_key)
        page_type = "ad" if kind == "ad" else "listing"
        yield self._record(response, final_key, page_type)
        if page_type == "ad":
            return
        if self.validators is not None:
            header = response.headers.get
            self.validators.remember(
                final_key,
                (header(b"ETag") or b"").decode("latin-1") or None,
                (header(b"Last-Modified") or b"").decode("latin-1") or None,
            )
        stop = False
        ids: list[str] = []
        items = self.profile.ads.items
        if items is not None:
            if kind == "json":
                cut = json_items(data, items, response.url, self.items_limit)
            else:
                item_type = "application/xml" if kind == "xml" else "text/html"
                cut = html_items(response, items, self.items_limit, page, item_type)
            ids = [item.id for item in cut.items]
            out, stop = self._items(response, final_key, cut)
            yield from out
        if kind != "json" or self.profile.json_in:
            yield from self._follow(response, stop, page)
        if not stop:
            yield from self._paginate(response, ids, data, page)

    def _readable(self, response: Response, kind: str) -> bool:
        """Whether the response has the type the profile reads there (``kind``: ad, html, json,
        xml); counted by cause when not."""
        profile = self.profile
        if kind == "json":
            readable, cause = (is_html(response, self.html_types) if profile.json_in else is_json(response)), "not_json"
        elif kind == "xml":
            readable, cause = is_xml(response), "not_xml"
        elif kind == "html" and profile.html_in:
            readable, cause = is_json(response), "not_json"
        else:
            readable, cause = is_html(response, self.html_types), "skipped_binary"
        if not readable:
            self.count(cause, f"{response.url} is {content_type(response) or 'not text'}")
        return readable

    def _view(self, response: TextResponse, kind: str) -> tuple[Any, Any] | None:
        """(the JSON document, the selector items are read from) of a listing; (None, None) for an
        HTML page read as it is; None, counted, when it cannot be parsed."""
        profile = self.profile
        try:
            if kind == "json":
                return (embedded_json(response, profile.json_in) if profile.json_in else read_json(response.text)), None
            if kind == "xml":
                return None, xml_selector(response)
            if kind == "html" and profile.html_in:
                data = read_json(response.text)
                return data, html_in_json(response, data, profile.html_in)
        except ValueError as exc:
            self.count("bad_xml" if kind == "xml" else "bad_json", f"{response.url}: {exc}")
            return None
        return None, None

    # -- items ------------------------------------------------------------------------------

    def _items(self, response: TextResponse, page_key: str, cut: Cut) -> tuple[list, bool]:
        """Records (or detail requests) for the page's new items, and whether paging stops here."""
        if cut.without_id:
            self.crawler.stats.inc_value("vigil/skipped/item_without_id", cut.without_id)
        if cut.over_limit:
            self.crawler.stats.inc_value("vigil/skipped/max_items_per_page", cut.over_limit)
        out: list = []
        known = 0
        detail = self.profile.ads.items.detail
        depth = response.meta.get("depth", 0) + 1
        for item in cut.items:
            if self._item_known(item):
                known += 1
                continue
            if item.id in self.items_read:
                self.count("item_repeated", kind="skipped")
                continue
            self.items_read.add(item.id)
            if detail is None:
                out.append(self._item_record(response, page_key, item))
                continue
            request = self._request(
                detail_url(detail.url, item.id, response.url),
                depth,
                response.url,
                meta={"vigil_item": item, "vigil_item_of": page_key},
                callback=self.parse_detail,
            )
            if request is not None:
                out.append(request)
        return out, self._stops(len(cut.items), known)

    def _stops(self, found: int, known: int) -> bool:
        """The incremental stop rule: paging ends below a page with a known ad (first_known) or
        with only known ads (all_known)."""
        if not self.incremental or not found:
            return False
        rule = self.profile.ads.stop_rule
        stop = (rule == "first_known" and known > 0) or (rule == "all_known" and known == found)
        if stop:
            self.crawler.stats.inc_value("vigil/incremental_stops")
            logger.info("incremental: %d of %d ads known (%s); not paging further", known, found, rule)
        return stop

    def _item_known(self, item: Item) -> bool:
        if not self.incremental:
            return False
        return self.is_known(item.id) or (item.permalink is not None and self.is_known(self._item_key(item, None)))

    @staticmethod
    def _item_key(item: Item, page_key: str | None, detail_key: str | None = None) -> str:
        """An item's record key: its permalink (fragment kept: posts are often #post-N), else its
        detail URL, else page#item-ID."""
        if item.permalink:
            return canonicalize_url(item.permalink, keep_fragments=True)
        return detail_key or f"{page_key}#item-{item.id}"

    def _item_record(
        self, response: TextResponse, page_key: str, item: Item, detail: TextResponse | None = None
    ) -> RawPage:
        from urllib.parse import quote

        body = item.body
        raw = body.encode("utf-8")
        truncated = len(raw) > self.max_body_bytes
        if truncated:
            body = raw[: self.max_body_bytes].decode("utf-8", errors="ignore")
            self.crawler.stats.inc_value("vigil/truncated")
        key = self._item_key(item, page_key, canonical_url(detail.url) if detail is not None else None)
        url = item.permalink or (detail.url if detail is not None else f"{response.url}#item-{quote(item.id)}")
        self.crawler.stats.inc_value("vigil/ads")
        self.ad_ids.append(item.id)
        source = detail if detail is not None else response
        return RawPage(
            profile_id=self.profile.id,
            network=self.route.network,
            job_id=self.job_id,
            url=url,
            canonical_url=key,
            final_url=url,
            status=source.status,
            content_type=item.content_type,
            headers=record_headers(source, self.header_names),
            depth=source.meta.get("depth", 0),
            referrer=response.url if detail is None else detail.meta.get("vigil_referrer"),
            page_type="ad",
            ad_id=item.id,
            render_mode=self.route.render_mode,
            country=self.profile.country,
            language_hint=self.profile.language,
            fields=item.fields,
            body=body,
            body_sha256=hashlib.sha256(raw).hexdigest(),
            body_bytes=len(raw),
            truncated=truncated,
            baseline=self.baseline,
            item_of=page_key,
            capture=source.meta.get(CAPTURE_META),
        )

    def parse_detail(self, response: Response):
        """An item's detail (a modal's JSON, a detail page): its fields complete the item's."""
        self.pages += 1
        metrics.PAGES_FETCHED.labels(self.profile.id, self.route.network).inc()
        item: Item = response.meta["vigil_item"]
        detail = self.profile.ads.items.detail
        if not isinstance(response, TextResponse):
            self.count("skipped_binary", f"{response.url} is {content_type(response) or 'not text'}")
            return
        data = None
        if detail.source == "json":
            try:
                data = read_json(response.text)
            except ValueError as exc:
                self.count("bad_json", f"{response.url}: {exc}")
                return
        text = decode_body(response, self.max_body_bytes).text
        merged = Item(
            id=item.id,
            permalink=item.permalink,
            fields={**item.fields, **detail_fields(response, data, detail.fields)},
            body=text,
            content_type=content_type(response) or item.content_type,
        )
        yield self._item_record(response, response.meta["vigil_item_of"], merged, detail=response)

    def _paginate(self, response: TextResponse, ids: list[str], data: Any, page: Any = None):
        """The next page by the profile's ``pagination`` rule, if it has one and the page has a next."""
        rule = self.profile.pagination
        if rule is None:
            return
        if page is None and data is None:
            page = response
        links = [v.decode("latin-1") for v in response.headers.getlist(b"Link")]
        found = next_page(response.url, rule, ids, data, response.meta.get("vigil_page_value"), page, links)
        if found is None:
            return
        url, value = found
        request = self._request(url, response.meta.get("depth", 0) + 1, response.url, meta={"vigil_page_value": value})
        if request is not None:
            yield request

    def _record(self, response: TextResponse, key: str, page_type: str) -> RawPage:
        body = decode_body(response, self.max_body_bytes)
        ad_id = self.profile.ads.ad_id(response.url) if page_type == "ad" else None
        if page_type == "ad":
            self.crawler.stats.inc_value("vigil/ads")
            self.ad_ids.append(ad_id or key)
        self.crawler.stats.inc_value("vigil/pages")
        if body.truncated:
            self.crawler.stats.inc_value("vigil/truncated")
        redirects = response.meta.get("redirect_urls") or []
        return RawPage(
            profile_id=self.profile.id,
            network=self.route.network,
            job_id=self.job_id,
            url=redirects[0] if redirects else response.request.url,
            canonical_url=key,
            final_url=response.url,
            status=response.status,
            content_type=content_type(response),
            headers=record_headers(response, self.header_names),
            depth=response.meta.get("depth", 0),
            referrer=response.meta.get("vigil_referrer"),
            page_type=page_type,
            ad_id=ad_id,
            render_mode=self.route.render_mode,
            country=self.profile.country,
            language_hint=self.profile.language,
            fields=extract_fields(response, self.profile, self.field_chars) if page_type == "ad" else {},
            body=body.text,
            body_sha256=body.sha256,
            body_bytes=body.size,
            decode_errors=body.decode_errors,
            truncated=body.truncated,
            baseline=self.baseline,
            capture=response.meta.get(CAPTURE_META),
        )

    def _follow(self, response: TextResponse, stop: bool = False, page: Any = None):
        """Ad links and the ``follow`` rules' links; ``page``: an XML feed's selector."""
        depth = response.meta.get("depth", 0) + 1
        page = response if page is None else page
        hrefs = [response.urljoin(h.strip()) for h in page.xpath(LINK_XPATH).getall()]
        ad_urls = [u for u in dict.fromkeys(hrefs) if self.profile.ads.is_ad(u)]
        new_ads = [u for u in ad_urls if not self._known(u)]
        for url in new_ads:
            request = self._request(url, depth, response.url)
            if request is not None:
                yield request
        if stop or self._stops(len(ad_urls), len(ad_urls) - len(new_ads)):
            return
        for url in self._listing_links(response, page):
            if not self.profile.ads.is_ad(url):
                request = self._request(url, depth, response.url)
                if request is not None:
                    yield request

    def _known(self, url: str) -> bool:
        if not self.incremental:
            return False
        ad_id = self.profile.ads.ad_id(url)
        key = canonical_url(url, self.profile.drop_query_params)
        return (ad_id is not None and self.is_known(ad_id)) or self.is_known(key)

    def _listing_links(self, response: TextResponse, page: Any = None) -> Iterable[str]:
        found: dict[str, None] = {}
        for rule in self.profile.follow:
            for href in self._rule_links(response, rule, page):
                found[response.urljoin(href.strip())] = None
        return found

    @staticmethod
    def _rule_links(response: TextResponse, rule: FollowRule, page: Any = None) -> list[str]:
        page = response if page is None else page
        if rule.regex is not None:
            hrefs = page.xpath(LINK_XPATH).getall()
            return [h for h in hrefs if re.search(rule.regex, response.urljoin(h.strip()))]
        nodes = page.css(rule.css) if rule.css else page.xpath(rule.xpath)
        hrefs: list[str] = []
        for node in nodes:
            if isinstance(node.root, str):
                hrefs.append(node.root)
            else:
                hrefs.extend(node.xpath(LINK_XPATH).getall())
        return hrefs

    # -- sitemaps ---------------------------------------------------------------------------

    def parse_sitemap(self, response: Response):
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.text, base_url=response.url):
                yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.failed, headers=self.headers)
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # noqa: BLE001 - lxml raises several types for a broken sitemap
            self.count("bad_sitemap", f"{response.url}: {exc}")
            return
        depth = response.meta.get("depth", 0) + 1
        for entry in sitemap:
            url = entry.get("loc", "").strip()
            if not url:
                continue
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.failed, headers=self.headers)
            else:
                request = self._request(url, depth, response.url)
                if request is not None:
                    yield request

    # -- failures ---------------------------------------------------------------------------

    def failed(self, failure) -> None:
        cause = cause_of(failure.value)
        self.count(cause, f"{failure.request.url}: {failure.value}")
        if self.probe is not None:
            self.probe["refused"].append({"url": failure.request.url, "cause": cause, "detail": str(failure.value)})

    def count(self, cause: str, detail: str | None = None, kind: str = "errors") -> None:
        """Count a request that produced no record: ``errors`` by cause, or ``skipped`` by limit."""
        self.crawler.stats.inc_value(f"vigil/{kind}/{cause}")
        if kind == "errors":
            metrics.CRAWL_ERRORS.labels(self.profile.id, cause).inc()
        if detail:
            logger.warning("%s: %s", cause, detail)
