"""The one generic spider: a site profile says where to start, what to follow and what an ad is.

    scrapy crawl site -a profile=ID_OR_PATH [-a job_id=...] [-a max_pages=N]
                      [-a incremental=1 -a known_ads=FILE] [-a baseline=1]

Listing pages (start pages and pages reached through ``follow`` rules) are searched for ad links
(``ads.url_regex``) and for more listing pages; ad pages are leaves. Every HTML page fetched
becomes one RawPage record; every request that yields none is counted by cause.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawlers.config import vigil_settings
from crawlers.errors import cause_of
from crawlers.pages import canonical_url, content_type, decode_body, extract_fields, is_html, record_headers
from crawlers.profile_settings import profile_settings
from crawlers.rendering import render_meta
from crawlers.routing import route
from vigil.core import metrics
from vigil.core.profiles import FollowRule, SiteProfile, find_profile
from vigil.core.records import RawPage, new_id

logger = logging.getLogger(__name__)

LINK_XPATH = "./@href | .//a/@href | .//area/@href"


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
        self.seen: set[str] = set()
        self.published: set[str] = set()
        self.scheduled = 0
        self.pages = 0
        self.ad_ids: list[str] = []

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
        return spider

    async def start(self):
        for url in self.profile.sitemap_urls:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.failed, headers=self.headers)
        for url in self.profile.start_urls:
            request = self._request(url, depth=0, referrer=None)
            if request is not None:
                yield request

    # -- requests ---------------------------------------------------------------------------

    def _request(self, url: str, depth: int, referrer: str | None) -> scrapy.Request | None:
        """A request for a page not seen yet, within max_pages and max_depth; None otherwise."""
        key = canonical_url(url, self.profile.drop_query_params)
        if key in self.seen:
            return None
        if depth > self.profile.limits.max_depth:
            self.count("depth_limit", kind="skipped")
            return None
        if self.scheduled >= self.max_pages:
            self.count("max_pages", kind="skipped")
            return None
        self.seen.add(key)
        self.scheduled += 1
        is_ad = self.profile.ads.is_ad(url)
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.failed,
            headers=self.headers,
            cookies=self.cookies,
            priority=1 if is_ad else 0,
            meta={"vigil_referrer": referrer, **render_meta(self.profile, "ad" if is_ad else "listing")},
        )

    # -- responses --------------------------------------------------------------------------

    def parse(self, response: Response):
        self.pages += 1
        metrics.PAGES_FETCHED.labels(self.profile.id, self.route.network).inc()
        if not is_html(response, self.html_types):
            self.count("skipped_binary", f"{response.url} is {content_type(response) or 'not text'}")
            return
        final_key = canonical_url(response.url, self.profile.drop_query_params)
        if final_key in self.published:
            self.count("duplicate", kind="skipped")
            return
        self.published.add(final_key)
        self.seen.add(final_key)
        page_type = "ad" if self.profile.ads.is_ad(response.url) else "listing"
        yield self._record(response, final_key, page_type)
        if page_type == "listing":
            yield from self._follow(response)

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
        )

    def _follow(self, response: TextResponse):
        depth = response.meta.get("depth", 0) + 1
        hrefs = [response.urljoin(h.strip()) for h in response.xpath(LINK_XPATH).getall()]
        ad_urls = [u for u in dict.fromkeys(hrefs) if self.profile.ads.is_ad(u)]
        new_ads = [u for u in ad_urls if not self._known(u)]
        for url in new_ads:
            request = self._request(url, depth, response.url)
            if request is not None:
                yield request
        if self.incremental and ad_urls and not new_ads:
            self.crawler.stats.inc_value("vigil/incremental_stops")
            logger.info("incremental: every ad on %s is known; not paging further", response.url)
            return
        for url in self._listing_links(response):
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

    def _listing_links(self, response: TextResponse) -> Iterable[str]:
        found: dict[str, None] = {}
        for rule in self.profile.follow:
            for href in self._rule_links(response, rule):
                found[response.urljoin(href.strip())] = None
        return found

    @staticmethod
    def _rule_links(response: TextResponse, rule: FollowRule) -> list[str]:
        if rule.regex is not None:
            hrefs = response.xpath(LINK_XPATH).getall()
            return [h for h in hrefs if re.search(rule.regex, response.urljoin(h.strip()))]
        nodes = response.css(rule.css) if rule.css else response.xpath(rule.xpath)
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

    def count(self, cause: str, detail: str | None = None, kind: str = "errors") -> None:
        """Count a request that produced no record: ``errors`` by cause, or ``skipped`` by limit."""
        self.crawler.stats.inc_value(f"vigil/{kind}/{cause}")
        if kind == "errors":
            metrics.CRAWL_ERRORS.labels(self.profile.id, cause).inc()
        if detail:
            logger.warning("%s: %s", cause, detail)
