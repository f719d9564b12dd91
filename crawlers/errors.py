"""Short, stable names for why a request produced no record (the keys of a crawl's ``errors``)."""

from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as net

from crawlers.ssrf import RefusedAddress

SIZE_WORDS = ("max size", "maxsize", "DOWNLOAD_MAXSIZE")


def cause_of(exc: BaseException) -> str:
    """A failure's cause: ssrf_refused, robots_disallowed, http_404, too_large, timeout, dns, ..."""
    message = str(exc)
    if isinstance(exc, RefusedAddress):
        return "ssrf_refused"
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if any(word in message for word in SIZE_WORDS):
        return "too_large"
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in message:
            return "robots_disallowed"
        if "offsite" in message.lower():
            return "offsite"
        return "ignored"
    module = type(exc).__module__
    if module.startswith("playwright"):
        return "render_timeout" if "Timeout" in type(exc).__name__ else "render_failed"
    if isinstance(exc, net.DNSLookupError):
        return "dns"
    if isinstance(exc, (net.TimeoutError, net.TCPTimedOutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, net.ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, (net.ConnectError, net.ConnectionLost, ConnectionError)):
        return "connection"
    if "ResponseNeverReceived" in type(exc).__name__ or "ResponseFailed" in type(exc).__name__:
        return "connection"
    return type(exc).__name__
