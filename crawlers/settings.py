"""Scrapy settings for Vigil's crawlers (``scrapy.cfg`` -> ``crawlers.settings``).

Project-wide defaults only; each profile's politeness, limits and routing are applied on top by
the site spider (crawlers/profile_settings.py, crawlers/routing.py).
"""

from vigil.core.config import DEFAULT_USER_AGENT

BOT_NAME = "vigil"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = DEFAULT_USER_AGENT
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Only http(s): file://, s3://, ftp:// and data: links in ads must never be fetched.
DOWNLOAD_HANDLERS = {"file": None, "s3": None, "ftp": None, "data": None}

DOWNLOADER_MIDDLEWARES = {
    # After the offsite filter (50), before robots.txt (100): nothing refused is ever contacted.
    "crawlers.ssrf.SSRFGuardMiddleware": 60,
    "crawlers.rendering.RenderAllRequestsMiddleware": 70,
    # Tor crawls only (NotConfigured otherwise): NEWNYM + retry after repeated failures; before retry (550).
    "crawlers.tor_rotation.TorRotationMiddleware": 560,
    # Next to the download handler: responses as received, before decompression and redirects
    # (NotConfigured when evidence.capture is off).
    "crawlers.evidence.CaptureMiddleware": 950,
}

ITEM_PIPELINES = {
    "crawlers.evidence.EvidencePipeline": 700,
    "crawlers.publishing.KafkaPublisher": 800,
}

# Scrapy starts CONCURRENT_ITEMS asyncio workers for every response's output; a page yields one
# record, so 100 (the default) costs ~100 tasks per page for nothing.
CONCURRENT_ITEMS = 8

AUTOTHROTTLE_ENABLED = True
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True
DNSCACHE_ENABLED = True
METAREFRESH_ENABLED = True

# Vigil's own settings (see docs/profiles.md).
VIGIL_PUBLISH_ENABLED = True
VIGIL_FLUSH_TIMEOUT = 60
VIGIL_HTML_TYPES = ["text/html", "application/xhtml+xml"]
VIGIL_RECORD_HEADERS = [
    "content-type",
    "content-language",
    "last-modified",
    "etag",
    "server",
    "x-powered-by",
    "cache-control",
    "date",
]

LOG_LEVEL = "INFO"
