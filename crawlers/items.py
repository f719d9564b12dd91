"""Ads inside a page: the items of an HTML page or a JSON response, and the page after it.

A channel preview, a forum thread or a JSON listing holds many ads in one response. The profile's
``ads.items`` says how to cut them out (docs/profiles.md); every item becomes one ad record with
its own id, so new-ad detection and alerts work per item. Pure functions: the spider calls them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from w3lib.url import add_or_replace_parameter, url_query_parameter

from crawlers.pages import FIELD_CHARS, WHITESPACE, node_values
from vigil.core.metrics import LIMITS_HIT
from vigil.core.profiles import ItemRule, ItemValue, Pagination

MAX_ID_CHARS = 256


@dataclass
class Item:
    """One ad cut out of a page: its id, permalink (absolute), field values and its own source text."""

    id: str
    permalink: str | None
    fields: dict[str, str]
    body: str
    content_type: str
    data: Any = field(default=None, repr=False)


@dataclass
class Cut:
    """The items of one page, and how many candidates were dropped (no id, over the limit)."""

    items: list[Item] = field(default_factory=list)
    without_id: int = 0
    over_limit: int = 0


def _regex(value: str | None, pattern: str | None) -> str | None:
    if value is None or pattern is None:
        return value
    found = re.search(pattern, value)
    if found is None:
        return None
    return found.group(1) if found.re.groups else found.group(0)


def _clean_id(value: str | None) -> str | None:
    value = WHITESPACE.sub(" ", value or "").strip()
    return value[:MAX_ID_CHARS] if value else None


# -- HTML ---------------------------------------------------------------------------------------


def html_value(node, value: ItemValue, own=None) -> str | None:
    """An item value: css/xpath relative to the item node (none: the element the item selector
    matched, ``own`` for a sibling group), ``attr``, ``regex``."""
    if value.css:
        nodes = node.css(value.css)
    elif value.xpath:
        nodes = node.xpath(value.xpath)
    else:
        nodes = [own if own is not None else node]
    return _regex(node_values(nodes, value.attr), value.regex)


class _SiblingGroups:
    """Items without a wrapper element: each start element and its following siblings (bare text
    included) up to the next start, an ``until`` element or an element holding a start, copied
    under one detached element of the parent's tag, so that selectors relative to the item see the
    whole post. A start inside another item is part of that item. Groups never overlap, so copying
    them costs at most the page once, whatever its nesting."""

    def __init__(self, response, starts, rule: ItemRule):
        found = [s.root for s in starts if not isinstance(s.root, str)]
        marked = set(found)
        self.holds: dict = {}  # element -> it is a start or lies inside one (ancestors of the starts)
        self.heads = [head for head in found if not self._inside(head, marked)]
        self.bounds = marked | self.holds.keys()
        if rule.until:
            self.bounds.update(s.root for s in response.css(rule.until))

    def _inside(self, element, marked: set) -> bool:
        """Whether a start encloses ``element``; remembers the answer for every ancestor walked."""
        path, node, answer = [], element.getparent(), False
        while node is not None:
            if node in self.holds:
                answer = self.holds[node]
                break
            path.append(node)
            if node in marked:
                answer = True
                break
            node = node.getparent()
        for walked in path:
            self.holds[walked] = answer
        return answer

    def group(self, head) -> tuple[Any, Any, str]:
        """(the group as a selector, its start element, its HTML)."""
        import copy

        from lxml import etree
        from parsel import Selector

        parent = head.getparent()
        scope = etree.Element(parent.tag if parent is not None and isinstance(parent.tag, str) else "div")
        for element in (head, *head.itersiblings()):
            if element is not head and element in self.bounds:
                break
            scope.append(copy.deepcopy(element))
        text = "".join(etree.tostring(e, method="html", encoding="unicode", with_tail=True) for e in scope)
        selector = Selector(root=scope, type="html")
        return selector, selector.xpath("./*[1]")[0], text


def html_items(response, rule: ItemRule, limit: int, page=None, item_type: str = "text/html") -> Cut:
    """The items of an HTML page (or of ``page``: an XML feed's selector, HTML taken out of a JSON
    response), in page order; items without an id are counted, not kept."""
    page = response if page is None else page
    nodes = page.css(rule.css) if rule.css else page.xpath(rule.xpath)
    groups = _SiblingGroups(page, nodes, rule) if rule.siblings else None
    cut = Cut()
    for node in groups.heads if groups else nodes:
        if len(cut.items) >= limit:
            cut.over_limit += 1
            continue
        own, text = None, None
        if groups is not None:
            node, own, text = groups.group(node)
        item_id = _clean_id(html_value(node, rule.id, own))
        if item_id is None:
            cut.without_id += 1
            continue
        permalink = html_value(node, rule.permalink, own) if rule.permalink is not None else None
        fields = {name: v for name, sel in rule.fields.items() if (v := html_value(node, sel, own)) is not None}
        cut.items.append(
            Item(
                id=item_id,
                permalink=response.urljoin(permalink.split()[0]) if permalink else None,
                fields=fields,
                body=text if text is not None else node.get(),
                content_type=item_type,
            )
        )
    return cut


def html_in_json(response, data: Any, path: str):
    """The HTML a JSON response carries (``{"html": "<div class=post>...</div>", "next": ...}``, a
    "load more" endpoint) at JMESPath ``path``, as a page to read items and links from; ValueError
    when it is not text."""
    import jmespath
    from scrapy.http import HtmlResponse

    found = jmespath.search(path, data)
    if isinstance(found, list) and all(isinstance(part, str) for part in found):
        found = "\n".join(found)
    if not isinstance(found, str):
        raise ValueError(f"html_in {path!r} is not a string of HTML")
    return HtmlResponse(response.url, body=found.encode("utf-8"), encoding="utf-8")


# -- JSON ---------------------------------------------------------------------------------------


XSSI_PREFIX = re.compile(r"\A\s*(?:\)\]\}'?,?|while\s*\(\s*1\s*\);|for\s*\(\s*;\s*;\s*\);)")
JSONP_OPEN = re.compile(r"\A\s*(?:/\*\*/\s*)?[A-Za-z_$][\w$.]{0,200}\s*\(")


def read_json(text: str) -> Any:
    """The parsed document; ValueError when it is not JSON. Anti-hijacking prefixes (``)]}'``,
    ``while(1);``, ``for(;;);``) and a JSONP wrapper (``callback({...});``) are taken off first."""
    text = text.lstrip("\ufeff")
    try:
        return json.loads(text)
    except ValueError:
        pass
    text = XSSI_PREFIX.sub("", text, count=1)
    opened = JSONP_OPEN.match(text)
    if opened is not None:
        inner = text[opened.end() :].rstrip().rstrip(";").rstrip()
        if inner.endswith(")"):
            text = inner[:-1]
    return json.loads(text)


def embedded_json(response, css: str) -> Any:
    """The JSON document in an HTML page (``<script id="__NEXT_DATA__" type="application/json">``):
    the text of the first element matching ``css``; ValueError when there is none or it is not JSON."""
    for node in response.css(css):
        text = "".join(node.xpath(".//text()").getall()).strip()
        if text:
            return read_json(text)
    raise ValueError(f"no element with text matches json_in {css!r}")


def as_text(found: Any) -> str | None:
    """A JMESPath result as field text: strings as they are, lists joined by newlines, objects as JSON."""
    if found is None or found == "" or found == [] or found == {}:
        return None
    if isinstance(found, str):
        return found.strip() or None
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, int | float):
        return str(found)
    if isinstance(found, list):
        parts = [p for p in (as_text(v) for v in found) if p]
        return "\n".join(parts) if parts else None
    return json.dumps(found, ensure_ascii=False, sort_keys=True)


def json_value(data: Any, value: ItemValue, max_chars: int = FIELD_CHARS) -> str | None:
    """The value's text, cut at ``max_chars`` like a CSS field (counted as ``field_chars``)."""
    import jmespath

    found = as_text(jmespath.search(value.path, data) if value.path else data)
    if found is not None and len(found) > max_chars:
        LIMITS_HIT.labels("field_chars").inc()
        found = found[:max_chars]
    return _regex(found, value.regex)


def json_items(data: Any, rule: ItemRule, base_url: str, limit: int) -> Cut:
    """The items of a JSON document (``items.path`` must select a list)."""
    import jmespath

    found = jmespath.search(rule.path, data)
    cut = Cut()
    if not isinstance(found, list):
        return cut
    for entry in found:
        if len(cut.items) >= limit:
            cut.over_limit += 1
            continue
        item_id = _clean_id(json_value(entry, rule.id))
        if item_id is None:
            cut.without_id += 1
            continue
        permalink = json_value(entry, rule.permalink) if rule.permalink is not None else None
        fields = {name: v for name, sel in rule.fields.items() if (v := json_value(entry, sel)) is not None}
        cut.items.append(
            Item(
                id=item_id,
                permalink=urljoin(base_url, permalink) if permalink else None,
                fields=fields,
                body=json.dumps(entry, ensure_ascii=False),
                content_type="application/json",
                data=entry,
            )
        )
    return cut


def detail_fields(response, data: Any, fields: dict[str, ItemValue]) -> dict[str, str]:
    """Fields of an item's detail response: JMESPath into ``data`` when it is JSON, else css/xpath."""
    if data is not None:
        return {name: v for name, sel in fields.items() if (v := json_value(data, sel)) is not None}
    return {name: v for name, sel in fields.items() if (v := html_value(response, sel)) is not None}


def detail_url(template: str, item_id: str, base_url: str) -> str:
    from urllib.parse import quote

    return urljoin(base_url, template.replace("{id}", quote(item_id, safe="")))


# -- pagination ---------------------------------------------------------------------------------


def _numeric(ids: list[str]) -> list[int] | None:
    return [int(i) for i in ids] if ids and all(i.isdigit() for i in ids) else None


def current_value(url: str, rule: Pagination, given: str | None) -> int:
    """The page number or offset of ``url``: as the crawl set it, else from the URL, else ``start``."""
    default = rule.start if rule.start is not None else (1 if rule.by == "page" else 0)
    raw = given if given is not None else (url_query_parameter(url, rule.param) if rule.param else None)
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def page_cursor(page, rule: Pagination) -> str | None:
    """A cursor or next URL written in the HTML page: the first element's attribute or text."""
    if page is None:
        return None
    nodes = page.css(rule.css) if rule.css else page.xpath(rule.xpath)
    for node in nodes:
        if (value := node_values([node], rule.attr)) is not None:
            return value
    return None


LINK_VALUE = re.compile(r"<([^<>]{1,4096})>((?:\s*;\s*[^;,<>]{0,200})*)")
REL = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.I)


def link_header(values: list[str], rel: str) -> str | None:
    """The URL of the ``rel`` link in HTTP Link headers (RFC 8288: ``<...?page=2>; rel="next"``)."""
    for value in values:
        for found in LINK_VALUE.finditer(value[:65536]):
            for relation in REL.finditer(found.group(2)):
                if rel.lower() in (relation.group(1) or relation.group(2) or "").lower().split():
                    return found.group(1).strip() or None
    return None


def next_value(
    url: str,
    rule: Pagination,
    ids: list[str],
    data: Any,
    given: str | None,
    page: Any = None,
    links: list[str] | None = None,
) -> str | None:
    """The pagination value of the next page; None when paging ends (no items, no cursor)."""
    if rule.by in ("cursor", "next_url"):
        import jmespath

        if rule.link_rel is not None:
            return link_header(links or [], rule.link_rel)
        if rule.cursor is None:
            return page_cursor(page, rule)
        return as_text(jmespath.search(rule.cursor, data)) if data is not None else None
    if not ids:
        return None
    if rule.by == "page":
        return str(current_value(url, rule, given) + (rule.step or 1))
    if rule.by == "offset":
        return str(current_value(url, rule, given) + (rule.step or len(ids)))
    numbers = _numeric(ids)
    if rule.item in ("min", "max"):
        if numbers is not None:
            return str(min(numbers) if rule.item == "min" else max(numbers))
        return min(ids) if rule.item == "min" else max(ids)
    return ids[0] if rule.item == "first" else ids[-1]


def next_page(
    url: str,
    rule: Pagination,
    ids: list[str],
    data: Any = None,
    given: str | None = None,
    page: Any = None,
    links: list[str] | None = None,
) -> tuple[str, str] | None:
    """(next URL, its pagination value), or None when there is no next page. ``page``: the HTML
    response, for a cursor written in the page; ``links``: the response's Link headers."""
    value = next_value(url, rule, ids, data, given, page, links)
    if value is None:
        return None
    if rule.by == "next_url":
        return urljoin(url, value), value
    if rule.url:
        from urllib.parse import quote

        return urljoin(url, rule.url.replace("{value}", quote(value, safe=""))), value
    return add_or_replace_parameter(url, rule.param, value), value
