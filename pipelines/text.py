"""Readable text out of an ad page: main text, title, image URLs, and text repair.

Main text is the densest block of the parsed page (selectolax), with trafilatura's boilerplate
removal only for pages without a usable block, and the plain body text when the page is little
more than the ad. Mojibake from UTF-8 read as Windows-1252 ("â™¥" for "♥"),
common on ad sites, is repaired run by run so the rest of the text is untouched.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import trafilatura
from selectolax.lexbor import LexborHTMLParser, LexborNode

_BLOCK_END_RE = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|h[1-6]|ul|ol|table|section|article|blockquote)\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[a-zA-Z/!][^<>]*>")  # no '<' inside: an unclosed "<a <a <a" is read once
_CP1252_EXTRA = "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_MOJIBAKE_RE = re.compile(rf"(?:[\u00c2-\u00f4](?:[\u0080-\u00bf]|[{_CP1252_EXTRA}]){{1,3}})+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible characters that reorder or hide text (a right-to-left override turns "gpj.exe" into
# "exe.jpg" on screen; a zero-width space splits a phone number): bidi embeddings, overrides,
# isolates and marks, zero-width spaces and joiners, word joiner, invisible operators, BOM, soft hyphen.
_INVISIBLE_RE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\u180e]")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_LINE_END_BLANKS = " \t\u00a0"
_BOILERPLATE_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "form", "iframe")
_BLOCK_SELECTOR = "article, main, section, div, td, blockquote"
MAX_BLOCKS = 400  # more blocks than this, or nested deeper: trafilatura (each level re-reads the text below)
MAX_BLOCK_DEPTH = 32
MAX_LINKS = 5000
LINK_DENSITY = 0.5  # a block with more of its text in links is navigation (related ads, a menu)
STEP_DOWN_SHARE = 0.8  # a sub-block with this share of its parent's text is where the ad is ...
DOMINANCE = 6.0  # ... or more than half of it, and this many times as much as any other sub-block
MAX_TEXT_CHARS = 1_000_000  # a safety bound for every caller; analysis cuts to limits.text_chars
MAX_IMAGES = 50


def _to_byte(ch: str) -> int:
    if ord(ch) < 256:
        return ord(ch)
    return ch.encode("cp1252")[0]


def _repair(match: re.Match[str]) -> str:
    run = match.group(0)
    try:
        return bytes(_to_byte(ch) for ch in run).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return run


def fix_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 damage where a run decodes cleanly; leave the rest alone."""
    return text if text.isascii() else _MOJIBAKE_RE.sub(_repair, text)


def clean_text(text: str) -> str:
    """Unescape entities, repair mojibake, drop controls and invisible bidi/zero-width characters,
    normalise line ends and trailing spaces."""
    text = html.unescape(text or "")
    text = fix_mojibake(text).replace("\r\n", "\n").replace("\r", "\n").replace("\ufffd", " ")
    text = _INVISIBLE_RE.sub("", _CONTROL_RE.sub("", text))
    # Line by line, not re.sub(r"[ \t]+\n"): that regex rescans a run of blanks from each of its
    # characters, so a page of 100,000 spaces cost a minute of CPU.
    text = "\n".join(line.rstrip(_LINE_END_BLANKS) for line in text.split("\n"))
    text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()[:MAX_TEXT_CHARS]


def looks_like_html(value: str) -> bool:
    return bool(_TAG_RE.search(value or ""))


def fragment_to_text(fragment: str) -> str:
    """Text of an HTML fragment, keeping line breaks where blocks and <br> were."""
    marked = _BLOCK_END_RE.sub("\n", fragment)
    parser = LexborHTMLParser(f"<div>{marked}</div>")
    root = parser.body or parser.root
    return clean_text(root.text(separator="", deep=True) if root else "")


def parse(page_html: str) -> LexborHTMLParser:
    return LexborHTMLParser(page_html or "<html></html>")


def _stripped_body(tree: LexborHTMLParser) -> LexborHTMLParser | None:
    """A copy of the page body without scripts, navigation and other chrome."""
    body = tree.body
    if body is None:
        return None
    clone = LexborHTMLParser(body.html or "")
    clone.strip_tags(list(_BOILERPLATE_TAGS))
    return clone


def _node_to_text(node: LexborNode | None) -> str:
    return fragment_to_text(_BLOCK_END_RE.sub("\n", node.html or "")) if node is not None else ""


def body_text(tree: LexborHTMLParser) -> str:
    """Plain text of the page body without scripts, navigation and other chrome."""
    clone = _stripped_body(tree)
    return _node_to_text(clone.body) if clone is not None else ""


def _letters(node: LexborNode) -> int:
    return len("".join(node.text(deep=True).split()))


def _enclosing(node: LexborNode, ids: set[int] | dict[int, int | None]) -> LexborNode | None:
    """The nearest ancestor of ``node`` whose id is in ``ids`` (within ``MAX_BLOCK_DEPTH`` levels)."""
    parent = node.parent
    for _ in range(MAX_BLOCK_DEPTH):
        if parent is None:
            return None
        if parent.mem_id in ids:
            return parent
        parent = parent.parent
    return None


def _linked_letters(clone: LexborHTMLParser, parents: dict[int, int | None]) -> dict[int, int] | None:
    """Letters in links per block, a link in a list item counted as the whole item ("<li><a>Related
    ad</a> <span>2 hours ago</span></li>" is navigation, all of it). Each link is read once and its
    letters added to its block and the blocks around it; None past ``MAX_LINKS`` links."""
    links = clone.css("a")
    if len(links) > MAX_LINKS:
        return None
    items: dict[int, LexborNode] = {}
    for link in links:
        item = link
        for _ in range(4):
            item = item.parent
            if item is None or item.mem_id in parents:
                item = link
                break
            if item.tag == "li":
                break
        items.setdefault(item.mem_id, item)
    linked = dict.fromkeys(parents, 0)
    for item in items.values():
        block = _enclosing(item, parents)
        if block is not None:
            linked[block.mem_id] += _letters(item)
    for block_id in reversed(list(parents)):  # document order reversed: inner blocks first
        if parents[block_id] is not None:
            linked[parents[block_id]] += linked[block_id]
    return linked


def _parent_blocks(blocks: list[LexborNode]) -> dict[int, int | None] | None:
    """Each block's nearest enclosing block (None at the top); None when blocks nest deeper than
    ``MAX_BLOCK_DEPTH``: every level reads the text below it again."""
    ids = {block.mem_id for block in blocks}
    parents: dict[int, int | None] = {}
    depth: dict[int | None, int] = {None: 0}
    for block in blocks:  # document order: a block's enclosing block comes before it
        parent = _enclosing(block, ids)
        enclosing = parent.mem_id if parent is not None else None
        parents[block.mem_id] = enclosing
        depth[block.mem_id] = depth.get(enclosing, 0) + 1
        if depth[block.mem_id] > MAX_BLOCK_DEPTH:
            return None
    return parents


def densest_block(clone: LexborHTMLParser) -> LexborNode | None:
    """The block holding the ad: from the block with the most text outside links, step down
    into its largest sub-block while that one holds most of the text, or more than half of it and
    ``DOMINANCE`` times as much as any other sub-block (a page wrapper, then the content column,
    then the ad; not one of two blocks that share the ad). None when the page has no blocks, or so
    many or so deeply nested that reading them one by one would cost more than a full extraction."""
    blocks = clone.css(_BLOCK_SELECTOR)
    parents = _parent_blocks(blocks) if 0 < len(blocks) <= MAX_BLOCKS else None
    linked = _linked_letters(clone, parents) if parents is not None else None
    if parents is None or linked is None:
        return None
    own: dict[int, int] = {}
    for block in blocks:
        total = _letters(block)
        own[block.mem_id] = total - linked[block.mem_id] if linked[block.mem_id] <= LINK_DENSITY * total else 0
    best = max(blocks, key=lambda b: own[b.mem_id])
    while own[best.mem_id] > 0:
        children = sorted((b for b in blocks if parents[b.mem_id] == best.mem_id), key=lambda b: own[b.mem_id], reverse=True)
        if not children:
            break
        largest, runner_up = own[children[0].mem_id], own[children[1].mem_id] if len(children) > 1 else 0
        share = largest / own[best.mem_id]
        if share < STEP_DOWN_SHARE and (share <= 0.5 or largest < DOMINANCE * runner_up):
            break
        best = children[0]
    return best if own[best.mem_id] > 0 else None


def main_text(page_html: str, tree: LexborHTMLParser) -> str:
    """The ad's main text: the densest block of the page (see ``densest_block``), unless the page
    is little more than the ad; trafilatura's extraction when the page has no usable block.

    Extraction by blocks reads the tree already parsed, several times faster than trafilatura,
    which re-parses the page and runs its own and readability's heuristics. Extractors drop loose
    text outside block elements (common in ad bodies written with <br>s); when the whole body
    text is not much longer than the extraction, there is little boilerplate to remove and the
    body text is the more complete choice.
    """
    clone = _stripped_body(tree)
    if clone is None or clone.body is None:
        return ""
    extracted = _node_to_text(densest_block(clone))
    if len(extracted) >= 20:  # compared by letters: the body's text is built only when it is the answer
        if _letters(clone.body) <= 1.5 * len("".join(extracted.split())):
            return _node_to_text(clone.body)
        return extracted
    whole = _node_to_text(clone.body)
    try:
        extracted = trafilatura.extract(
            page_html, favor_recall=True, include_comments=False, include_tables=True, deduplicate=False
        )
    except (ValueError, TypeError, AttributeError, RecursionError):
        extracted = None
    extracted = clean_text(extracted or "")
    if len(extracted) < 20 or len(whole) <= 1.5 * len(extracted):
        return whole
    return extracted


def _node_text(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return clean_text(node.text(separator=" ", deep=True)) if node else ""


def title(tree: LexborHTMLParser, metadata: dict) -> str:
    """Title by preference: the first <h1>, og:title, then <title>."""
    for candidate in (
        _node_text(tree, "h1"),
        clean_text(str(metadata.get("og:title") or "")),
        _node_text(tree, "title"),
    ):
        candidate = " ".join(candidate.split())
        if candidate:
            return candidate[:1000]
    return ""


def image_urls(tree: LexborHTMLParser, base_url: str, metadata: dict) -> list[str]:
    """Absolute image URLs from <img>, og:image and JSON-LD image (never downloaded)."""
    found: list[str] = []
    candidates: list[str] = []
    for key in ("og:image", "image"):
        value = metadata.get(key)
        if isinstance(value, str):
            candidates.append(value)
        elif isinstance(value, list):
            candidates.extend(v for v in value if isinstance(v, str))
    for node in tree.css("img"):
        attrs = node.attributes
        src = attrs.get("data-src") or attrs.get("src") or attrs.get("data-original")
        if src:
            candidates.append(src)
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate or candidate.startswith(("data:", "javascript:")):
            continue
        try:
            url = urljoin(base_url, candidate)
        except ValueError:
            continue
        if url.startswith(("http://", "https://")) and url not in found:
            found.append(url)
        if len(found) >= MAX_IMAGES:
            break
    return found
