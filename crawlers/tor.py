"""Scrapy over Tor: a download handler that sends every request through a tor SOCKS port.

It is Scrapy's own HTTP/1.1 handler with one change, the connection: instead of resolving the
host and opening TCP to it, each connection is a SOCKS5 stream that hands the *name* to tor
(``crawlers.tor_socks``). So size limits (DOWNLOAD_MAXSIZE/WARNSIZE), timeouts, data-loss
handling, TLS and the middlewares around the handler (retry, redirect, decompression with its
limits, cookies) behave exactly as on the surface crawl, and no local DNS lookup is made for a
Tor-routed host.

OPSEC defaults enforced here, whatever the spider asks for:

* URLs that look like media (images, video, audio, fonts, documents, scripts, styles) are refused
  before any connection is opened;
* a 2xx response whose Content-Type is not HTML-like is aborted at the headers, before its body
  is downloaded;
* an ``.onion`` host must be a valid v3 address (checksum); v2 is refused with a clear message;
* ``meta["proxy"]`` is ignored: traffic never leaves through anything but tor.

Scrapy settings (``crawlers.routing`` sets them from ``tor_settings()``): ``VIGIL_TOR_INSTANCE``
(the ``vigil.core.config.TorInstance`` the profile is spread to; else one is built from
``VIGIL_TOR_SOCKS_HOST``/``_PORT``), ``VIGIL_TOR_PROFILE_ID`` (the isolation key;
``meta["tor_profile"]`` overrides it per request).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from posixpath import splitext
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.endpoints import wrapClientTLS
from twisted.web.client import Agent

from crawlers.settings import VIGIL_HTML_TYPES
from crawlers.tor_socks import Socks5ClientEndpoint
from vigil.core.config import TorInstance
from vigil.core.onion import OnionAddressError, is_onion, validate_onion
from vigil.core.tor.isolation import Isolation, instance_for

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from vigil.core.config import Settings

logger = logging.getLogger(__name__)

HANDLER = "crawlers.tor.TorDownloadHandler"

#: Onion circuits take seconds to build and onion services are slow: give each request longer.
TOR_DOWNLOAD_TIMEOUT = 90
HTML_TYPES = frozenset(VIGIL_HTML_TYPES)
MEDIA_EXTENSIONS = frozenset(
    """
    jpg jpeg jpe png gif webp bmp svg svgz ico tif tiff avif heic heif jxl apng
    mp4 m4v webm mkv avi mov wmv flv mpg mpeg 3gp ogv ts m3u8
    mp3 wav ogg oga opus flac m4a aac wma
    woff woff2 ttf otf eot
    pdf doc docx xls xlsx ppt pptx odt
    js mjs css map wasm swf
    zip rar 7z gz tgz bz2 xz tar exe apk dmg iso
    """.split()
)


class TorPolicyError(IgnoreRequest):
    """A request or response that Vigil's Tor OPSEC defaults refuse; the message says which rule."""


def looks_like_media(url: str) -> bool:
    """True when the URL path ends in a media/asset extension (images, video, fonts, scripts...)."""
    ext = splitext(urlsplit(url).path)[1].lower().lstrip(".")
    return ext in MEDIA_EXTENSIONS


JSON_TYPES = frozenset({"application/json", "text/json", "text/plain", "text/javascript", "application/javascript"})


def html_like(content_type: str, url: str, accept: Collection[str] = ()) -> bool:
    """HTML-like Content-Type; text/plain is allowed for robots.txt only. ``accept``: what else the
    profile reads (``json``: JSON and JSONP, ``xml``: XML feeds); media stays refused."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in HTML_TYPES:
        return True
    if media_type.startswith(("image/", "audio/", "video/", "font/", "model/")):
        return False
    if "json" in accept and (media_type in JSON_TYPES or media_type.endswith("+json")):
        return True
    if "xml" in accept and media_type.endswith(("/xml", "+xml")):
        return True
    return media_type == "text/plain" and urlsplit(url).path == "/robots.txt"


def check_url(url: str) -> None:
    """Raise TorPolicyError for a URL that must not be fetched over Tor (media, bad onion)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TorPolicyError(f"refused over Tor: scheme {parts.scheme!r} ({url})")
    if looks_like_media(url):
        raise TorPolicyError(f"refused over Tor: media/asset URL not fetched ({url})")
    check_host(parts.hostname)


# With tor.allow_js the browser needs the page's scripts and styles; every other asset stays refused.
BROWSER_ASSET_EXTENSIONS = frozenset({"js", "mjs", "css"})
BROWSER_TYPES = frozenset(
    {
        *HTML_TYPES,
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/json",
        "text/plain",
        "text/xml",
        "application/xml",
    }
)


def check_host(host: str | None) -> None:
    """An onion host must be a valid v3 address (v2 and bad checksums are refused)."""
    if is_onion(host):
        try:
            validate_onion(host or "")
        except OnionAddressError as exc:
            raise TorPolicyError(f"refused over Tor: {exc}") from None


def check_browser_url(url: str) -> None:
    """check_url for a rendered page's own requests: as strict, except that scripts and styles load."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        raise TorPolicyError(f"refused over Tor: scheme {parts.scheme!r} ({url})")
    ext = splitext(parts.path)[1].lower().lstrip(".")
    if ext in MEDIA_EXTENSIONS and ext not in BROWSER_ASSET_EXTENSIONS:
        raise TorPolicyError(f"refused over Tor: media/asset URL not fetched ({url})")
    check_host(parts.hostname)


def browser_type_allowed(content_type: str) -> bool:
    """A rendered page over Tor may receive HTML, scripts, styles and data; never media or binaries."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in BROWSER_TYPES or media_type.endswith(("+json", "+xml"))


def tor_settings(
    settings: Settings, profile_id: str, timeout: float = 0, accept: Collection[str] = ()
) -> dict[str, Any]:
    """The Scrapy settings that send a profile's crawl through Tor (the rotation middleware is
    enabled by them; it is listed, disabled otherwise, in the project's DOWNLOADER_MIDDLEWARES).
    ``accept``: the kinds of text besides HTML the profile reads (json, xml)."""
    instance = instance_for(settings.tor, profile_id)
    return {
        "VIGIL_TOR_ACCEPT": sorted(accept),
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "VIGIL_TOR_INSTANCE": instance,
        "VIGIL_TOR_PROFILE_ID": profile_id,
        "VIGIL_TOR_SOCKS_HOST": instance.socks_host,
        "VIGIL_TOR_SOCKS_PORT": instance.socks_port,
        "VIGIL_TOR_NEWNYM_AFTER_FAILURES": settings.tor.newnym_after_failures,
        "DOWNLOAD_TIMEOUT": max(timeout, TOR_DOWNLOAD_TIMEOUT),
        "DNSCACHE_ENABLED": False,
    }


_isolations: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def isolation_for(crawler: Crawler) -> Isolation:
    """The crawl's isolation state, shared by the handler and the rotation middleware."""
    isolation = _isolations.get(crawler)
    if isolation is None:
        isolation = _isolations[crawler] = Isolation()
    return isolation


def tor_instance(crawler: Crawler) -> TorInstance:
    """The tor instance of this crawl: VIGIL_TOR_INSTANCE, else the configured one on VIGIL_TOR_SOCKS_*."""
    settings = crawler.settings
    value = settings.get("VIGIL_TOR_INSTANCE")
    if value is not None:
        return value if isinstance(value, TorInstance) else TorInstance.model_validate(value)
    if not settings.get("VIGIL_TOR_SOCKS_PORT"):
        raise NotConfigured("not a Tor-routed crawl: VIGIL_TOR_INSTANCE / VIGIL_TOR_SOCKS_PORT not set")
    host, port = settings.get("VIGIL_TOR_SOCKS_HOST", "127.0.0.1"), settings.getint("VIGIL_TOR_SOCKS_PORT")
    from crawlers.config import vigil_settings

    for instance in vigil_settings(settings).tor.instances:
        if (instance.socks_host, instance.socks_port) == (host, port):
            return instance
    return TorInstance(
        socks_host=host,
        socks_port=port,
        control_host=settings.get("VIGIL_TOR_CONTROL_HOST", "127.0.0.1"),
        control_port=settings.getint("VIGIL_TOR_CONTROL_PORT", 9051),
    )


def profile_of(crawler: Crawler, request: Request | None = None) -> str:
    if request is not None and request.meta.get("tor_profile"):
        return str(request.meta["tor_profile"])
    profile = crawler.settings.get("VIGIL_TOR_PROFILE_ID")
    if profile:
        return str(profile)
    spider = getattr(crawler, "spider", None)
    return str(getattr(spider, "profile_id", None) or getattr(spider, "name", "default"))


@dataclass(frozen=True)
class SocksRoute:
    host: str
    port: int
    username: str
    password: str


class _SocksAgent(Agent):
    """A twisted Agent whose every connection is a SOCKS5 stream by name through tor."""

    def __init__(self, reactor, *, route: SocksRoute, contextFactory, connectTimeout: float, pool):
        super().__init__(reactor, contextFactory, connectTimeout, None, pool)
        self._route = route
        self._tls_policy = contextFactory
        self._connect_timeout = connectTimeout

    def _getEndpoint(self, uri):
        route = self._route
        endpoint = Socks5ClientEndpoint(
            self._reactor,
            route.host,
            route.port,
            uri.host.decode("ascii"),
            uri.port,
            username=route.username,
            password=route.password,
            timeout=self._connect_timeout,
        )
        if uri.scheme == b"https":
            return wrapClientTLS(self._tls_policy.creatorForNetloc(uri.host, uri.port), endpoint)
        return endpoint

    def _requestWithEndpoint(self, key, endpoint, method, parsedURI, headers, bodyProducer, requestPath):
        # Pooled connections are circuits: never hand one profile's (or generation's) to another.
        route = self._route
        key = (*key, route.host, route.port, route.username, route.password)
        return super()._requestWithEndpoint(key, endpoint, method, parsedURI, headers, bodyProducer, requestPath)


class _TorScrapyAgent(_ScrapyAgent):
    def __init__(self, *, route: SocksRoute, accept: Collection[str] = (), **kwargs):
        super().__init__(**kwargs)
        self._route = route
        self._accept = accept

    def _get_agent(self, request: Request, timeout: float) -> Agent:
        from twisted.internet import reactor

        if request.meta.get("proxy"):
            logger.warning("ignoring meta['proxy'] on a Tor-routed request: %s", request.url)
        return _SocksAgent(
            reactor,
            route=self._route,
            contextFactory=self._contextFactory,
            connectTimeout=timeout,
            pool=self._pool,
        )

    def _cb_bodyready(self, txresponse, request: Request):
        if 200 <= txresponse.code < 300:
            content_type = (txresponse.headers.getRawHeaders(b"content-type") or [b""])[0]
            content_type = content_type.decode("latin-1")
            if not html_like(content_type, request.url, self._accept):
                txresponse._transport.stopProducing()
                txresponse._transport.loseConnection()
                raise TorPolicyError(
                    f"refused over Tor: Content-Type {content_type or '(none)'!r} is not what the profile "
                    f"reads ({request.url})"
                )
        return super()._cb_bodyready(txresponse, request)


class TorDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, connecting through tor's SOCKS port with per-profile isolation."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self._instance = tor_instance(crawler)
        self._isolation = isolation_for(crawler)
        self._accept = tuple(crawler.settings.getlist("VIGIL_TOR_ACCEPT"))

    def route(self, request: Request) -> SocksRoute:
        username, password = self._isolation.credentials(profile_of(self._crawler, request))
        return SocksRoute(self._instance.socks_host, self._instance.socks_port, username, password)

    async def download_request(self, request: Request) -> Response:
        check_url(urldefrag(request.url)[0])
        host = urlparse_cached(request).hostname or ""
        logger.debug("fetching %s over Tor (host %s resolved by tor)", request.url, host)
        agent = _TorScrapyAgent(
            route=self.route(request),
            accept=self._accept,
            contextFactory=self._contextFactory,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))
