"""From a Scrapy response to a RawPage record: canonical URL, decoded body, profile fields."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from scrapy.http import Response, TextResponse
from w3lib.url import canonicalize_url, url_query_cleaner

from vigil.core.config import LimitsSettings
from vigil.core.metrics import LIMITS_HIT
from vigil.core.profiles import Selector, SiteProfile

WHITESPACE = re.compile(r"\s+")
FIELD_CHARS = LimitsSettings().field_chars


def canonical_url(url: str, drop_params: list[str] | None = None) -> str:
    """w3lib's canonical form (sorted query, no fragment), minus the profile's session/tracking params."""
    if drop_params:
        url = url_query_cleaner(url, drop_params, remove=True, keep_fragments=False)
    return canonicalize_url(url)


def content_type(response: Response) -> str:
    value = response.headers.get(b"Content-Type") or b""
    return value.decode("latin-1").split(";")[0].strip().lower()


def is_json(response: Response) -> bool:
    """JSON by header (application/json, +json, text/json), or a text response without a type."""
    kind = content_type(response)
    if not isinstance(response, TextResponse):
        return False
    return kind == "" or "json" in kind or kind in ("text/plain", "text/javascript", "application/javascript")


def is_xml(response: Response) -> bool:
    """An XML feed by header (application/rss+xml, application/atom+xml, text/xml, ...), or a text
    response without a type."""
    kind = content_type(response)
    return isinstance(response, TextResponse) and (kind == "" or kind.endswith(("/xml", "+xml")))


def xml_selector(response: TextResponse):
    """The feed parsed as XML (entities never resolved) with namespaces removed, so that ``entry``
    and ``link`` select Atom's elements as plainly as RSS's; whatever type the server announced."""
    from parsel import Selector

    selector = Selector(text=response.text, type="xml")
    selector.remove_namespaces()
    return selector


def is_html(response: Response, html_types: list[str]) -> bool:
    """HTML-like by header; without a header, a TextResponse Scrapy recognised as HTML."""
    kind = content_type(response)
    if kind:
        return kind in html_types and isinstance(response, TextResponse)
    return isinstance(response, TextResponse) and response.__class__.__name__ == "HtmlResponse"


@dataclass
class Body:
    text: str
    decode_errors: bool
    truncated: bool
    size: int
    sha256: str


def decode_body(response: TextResponse, max_bytes: int) -> Body:
    """Decode with the page's own charset; replace what does not decode and say so."""
    raw = response.body
    encoding = response.encoding
    try:
        text = raw.decode(encoding)
        errors = False
    except (UnicodeDecodeError, LookupError):
        text = raw.decode(encoding if _known(encoding) else "utf-8", errors="replace")
        errors = True
    truncated = False
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        text = encoded[:max_bytes].decode("utf-8", errors="ignore")
        truncated = True
    return Body(text, errors, truncated, len(raw), hashlib.sha256(raw).hexdigest())


def _known(encoding: str) -> bool:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def node_values(nodes, attr: str | None, max_chars: int = FIELD_CHARS) -> str | None:
    """The attribute or the normalised text of every node, joined by newlines, cut at ``max_chars``
    (nodes past it are not read; the cut counts in ``vigil_limits_hit_total{limit="field_chars"}``);
    None when all are empty."""
    values: list[str] = []
    length = 0
    cut = False
    for node in nodes:
        if length >= max_chars:
            cut = True
            break
        if attr:
            value = node.attrib.get(attr)
        elif isinstance(node.root, str):
            value = node.root
        else:
            value = " ".join(node.xpath(".//text()").getall())
        # Whitespace is collapsed on a bounded slice: a 40 MB match costs one copy, not one regex pass.
        value = WHITESPACE.sub(" ", (value or "")[: 4 * max_chars]).strip()
        if value:
            values.append(value)
            length += len(value) + 1
    joined = "\n".join(values)
    if cut or len(joined) > max_chars:
        LIMITS_HIT.labels("field_chars").inc()
        joined = joined[:max_chars]
    return joined or None


def select(response: TextResponse, selector: Selector, max_chars: int = FIELD_CHARS) -> str | None:
    """The selector's value: the attribute or the normalised text of every match, joined by newlines."""
    nodes = response.css(selector.css) if selector.css else response.xpath(selector.xpath)
    return node_values(nodes, selector.attr, max_chars)


def extract_fields(response: TextResponse, profile: SiteProfile, max_chars: int = FIELD_CHARS) -> dict[str, str]:
    """Values of the profile's ad field selectors (each at most ``max_chars``); fields that match
    nothing are left out."""
    fields: dict[str, str] = {}
    for name, selector in profile.ads.fields.items():
        value = select(response, selector, max_chars)
        if value is not None:
            fields[name] = value
    return fields


def record_headers(response: Response, names: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in names:
        value = response.headers.get(name)
        if value is not None:
            headers[name] = value.decode("latin-1")
    return headers
