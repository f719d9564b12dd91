"""Sends alerts through Apprise (e-mail, webhooks, chat services), retrying with backoff.

Each URL is sent on its own (``Apprise.instantiate``), so one dead endpoint is retried alone
and the error names it; Apprise's own log lines for this thread are kept as the error text.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import structlog

log = structlog.get_logger("vigil.delivery")

SECRET_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@/\s]+@")


def mask(url: str) -> str:
    """The URL with any password replaced, fit for logs and the alert history."""
    return SECRET_IN_URL.sub(r"\1***@", url)


def with_sender(url: str, mail_from: str) -> str:
    """A mailto:// URL with a From: address added when it names none.

    Used only when Apprise rejects the URL as given: its default sender ``user@host`` is invalid
    when the host is an IP address, as with a local SMTP relay.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mailto", "mailtos") or "from" in parse_qs(parts.query):
        return url
    return f"{url}{'&' if parts.query else ('' if url.endswith('?') else '?')}from={mail_from}"


class _ThreadLog(logging.Handler):
    """Collects Apprise's warnings and errors emitted by one thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


@dataclass
class DeliveryResult:
    ok: bool
    attempts: int
    errors: dict[str, str] = field(default_factory=dict)  # masked URL -> last error

    @property
    def error(self) -> str | None:
        return "; ".join(f"{url}: {error}" for url, error in self.errors.items()) or None


class Delivery:
    def __init__(
        self, attempts: int, backoff_seconds: float, mail_from: str, stop: threading.Event | None = None
    ):
        self.attempts = attempts
        self.backoff = backoff_seconds
        self.mail_from = mail_from
        self.stop = stop or threading.Event()

    def send(self, urls: list[str], title: str, body: str) -> DeliveryResult:
        """Send to every URL; retry the failed ones with doubling delays; report what never got through."""
        remaining = list(urls)
        errors: dict[str, str] = {}
        attempt = 0
        for attempt in range(1, self.attempts + 1):
            for url in list(remaining):
                error = self.send_one(url, title, body)
                if error is None:
                    remaining.remove(url)
                    errors.pop(mask(url), None)
                else:
                    errors[mask(url)] = error
            if not remaining:
                return DeliveryResult(True, attempt)
            if attempt < self.attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning(
                    "delivery failed, retrying",
                    targets=[mask(u) for u in remaining],
                    attempt=attempt,
                    retry_in=delay,
                )
                if self.stop.wait(delay):
                    break
        return DeliveryResult(False, attempt, errors)

    def send_one(self, url: str, title: str, body: str) -> str | None:
        """None when delivered, else the reason."""
        import apprise

        plugin = apprise.Apprise.instantiate(url)
        if plugin is None and with_sender(url, self.mail_from) != url:
            plugin = apprise.Apprise.instantiate(with_sender(url, self.mail_from))
        if plugin is None:
            return "not a usable Apprise URL"
        handler = _ThreadLog()
        apprise_log = logging.getLogger("apprise")
        apprise_log.addHandler(handler)
        try:
            delivered = plugin.notify(body=body, title=title)
        except Exception as exc:  # noqa: BLE001 - a plugin bug is one more failed attempt, named
            return f"{type(exc).__name__}: {exc}"
        finally:
            apprise_log.removeHandler(handler)
        if delivered:
            return None
        return mask(" ".join(handler.lines[-3:])) or "Apprise reported a failure"
