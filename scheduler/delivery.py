"""Sends alerts through Apprise (e-mail, webhooks, chat services), retrying with backoff.

Each URL is sent on its own (``Apprise.instantiate``), so one dead endpoint is retried alone
and the error names it. Bodies go out as plain text (``body_format`` TEXT): Apprise escapes them
for HTML and Markdown services, so nothing in an alert renders as markup.

Secrets never leave this module: a target is named by Apprise's privacy-masked URL
(``url(privacy=True)``), and Apprise's own log lines, which can quote a request URL with its
token, are kept from the process log and scrubbed of every secret part of the URL before they
become the error text.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import structlog

log = structlog.get_logger("vigil.delivery")

SECRET_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@/\s]+@")
SECRET_PARAM = re.compile(r"(token|key|secret|pass|pwd|auth|sig|session|cookie|bearer|webhook)", re.I)
PLAIN_SEGMENT = re.compile(r"(|[a-z][a-z_-]{0,15}|%23[a-z][a-z0-9_-]{0,30}|[\w.+-]{1,64}%40[\w.-]{1,255})")
URL_PARTS = re.compile(r"[/:@?&=#+,;\s]+")
WEBHOOK_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")
ERROR_LIMIT = 500
MIN_SECRET = 4

_apprise_log = logging.getLogger("apprise")
_apprise_log.propagate = False  # its lines may quote tokens; Delivery collects, scrubs and reports them


def mask(url: str) -> str:
    """A URL fit for logs and the alert history: Apprise's privacy form, secret parameters hidden.

    Falls back to ``scheme://host`` when Apprise cannot read the URL (never the URL as given).
    """
    import apprise

    try:
        plugin = apprise.Apprise.instantiate(url) or apprise.Apprise.instantiate(with_sender(url, "vigil@localhost"))
    except Exception:  # noqa: BLE001 - an unreadable URL is still named, safely
        plugin = None
    if plugin is None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return f"{parts.scheme}://{host}{':' + str(parts.port) if _port(parts) else ''}/***"
    return _hide_params(plugin.url(privacy=True), url)


def _port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _hide_params(masked: str, original: str) -> str:
    """Keep only the query parameters the user wrote; hide the values of secret-looking ones and
    every path segment but short plain words (webhook paths often hold the token itself)."""
    parts = urlsplit(masked)
    path = "/".join(seg if PLAIN_SEGMENT.fullmatch(seg) or "..." in seg else "***" for seg in parts.path.split("/"))
    given = {key.lstrip("+-:").lower() for key, _ in parse_qsl(urlsplit(original).query)}
    kept = [
        (key, "****" if SECRET_PARAM.search(key) else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lstrip("+-:").lower() in given
    ]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(kept, safe="*@"), ""))


def secrets_of(url: str, masked: str) -> set[str]:
    """Every piece of ``url`` (user, password, path segment, parameter value) not shown in ``masked``."""
    pieces = set()
    for raw in (url, unquote(url)):
        for piece in URL_PARTS.split(raw.split("://", 1)[-1]):
            if len(piece) >= MIN_SECRET and piece not in masked:
                pieces.update({piece, quote(piece, safe=""), unquote(piece)})
    host = urlsplit(url).hostname or ""
    return {p for p in pieces if p and p != host}


def scrub(text: str, secrets: set[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first, so none survives in part)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def with_sender(url: str, mail_from: str) -> str:
    """A mailto:// URL with a From: address added when it names none.

    Used only when Apprise rejects the URL as given: its default sender ``user@host`` is invalid
    when the host is an IP address, as with a local SMTP relay.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mailto", "mailtos") or "from" in parse_qs_keys(parts.query):
        return url
    return f"{url}{'&' if parts.query else ('' if url.endswith('?') else '?')}from={mail_from}"


def parse_qs_keys(query: str) -> set[str]:
    return {key for key, _ in parse_qsl(query, keep_blank_values=True)}


def with_idempotency_key(url: str, key: str | None) -> str:
    """Webhook URLs carry the alert's idempotency key as an ``Idempotency-Key`` header."""
    if not key or urlsplit(url).scheme.lower() not in WEBHOOK_SCHEMES:
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, f"{query}%2BIdempotency-Key={quote(key)}", parts.fragment)
    )


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
    errors: dict[str, str] = field(default_factory=dict)  # masked URL -> last error (scrubbed)
    sent_to: list[str] = field(default_factory=list)  # masked URLs that accepted the message
    interrupted: bool = False  # stopped before every attempt was made

    @property
    def error(self) -> str | None:
        return "; ".join(f"{url}: {error}" for url, error in self.errors.items())[: ERROR_LIMIT * 4] or None


class Delivery:
    def __init__(
        self, attempts: int, backoff_seconds: float, mail_from: str, stop: threading.Event | None = None
    ):
        self.attempts = attempts
        self.backoff = backoff_seconds
        self.mail_from = mail_from
        self.stop = stop or threading.Event()

    def send(
        self,
        urls: list[str],
        title: str,
        body: str,
        *,
        idempotency_key: str | None = None,
        skip: set[str] | frozenset[str] = frozenset(),
    ) -> DeliveryResult:
        """Send to every URL (but those whose masked form is in ``skip``: already sent); retry the
        failed ones with doubling delays; report what never got through."""
        remaining = [u for u in urls if mask(u) not in skip]
        errors: dict[str, str] = {}
        sent_to: list[str] = []
        attempt = 0
        interrupted = False
        for attempt in range(1, self.attempts + 1):
            for url in list(remaining):
                masked = mask(url)
                error = self.send_one(url, title, body, idempotency_key)
                if error is None:
                    remaining.remove(url)
                    errors.pop(masked, None)
                    sent_to.append(masked)
                else:
                    errors[masked] = error
            if not remaining:
                return DeliveryResult(True, attempt, sent_to=sent_to)
            if attempt < self.attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning(
                    "delivery failed, retrying",
                    targets=[mask(u) for u in remaining],
                    attempt=attempt,
                    retry_in=delay,
                )
                if self.stop.wait(delay):
                    interrupted = True
                    break
        return DeliveryResult(False, attempt, errors, sent_to, interrupted)

    def send_one(self, url: str, title: str, body: str, idempotency_key: str | None = None) -> str | None:
        """None when delivered, else the reason (scrubbed of the URL's secrets)."""
        import apprise
        from apprise import NotifyFormat

        secrets = secrets_of(url, mask(url))
        target = with_idempotency_key(url, idempotency_key)
        try:
            plugin = apprise.Apprise.instantiate(target)
            if plugin is None and with_sender(target, self.mail_from) != target:
                plugin = apprise.Apprise.instantiate(with_sender(target, self.mail_from))
        except Exception as exc:  # noqa: BLE001 - named without the URL
            return scrub(f"not a usable Apprise URL ({type(exc).__name__})", secrets)
        if plugin is None:
            return "not a usable Apprise URL"
        handler = _ThreadLog()
        _apprise_log.addHandler(handler)
        try:
            delivered = plugin.notify(body=body, title=title, body_format=NotifyFormat.TEXT)
        except Exception as exc:  # noqa: BLE001 - a plugin bug is one more failed attempt, named
            return scrub(f"{type(exc).__name__}: {exc}", secrets)[:ERROR_LIMIT]
        finally:
            _apprise_log.removeHandler(handler)
        if delivered:
            return None
        reason = " ".join(handler.lines[-3:]) or "Apprise reported a failure"
        return scrub(SECRET_IN_URL.sub(r"\1***@", reason), secrets)[:ERROR_LIMIT]
