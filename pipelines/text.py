"""Readable text out of an ad page: main text, title, image URLs, and text repair.

Main text comes from trafilatura (boilerplate removal), falling back to selectolax's plain body
text when trafilatura finds nothing. Mojibake from UTF-8 read as Windows-1252 ("â™¥" for "♥"),
common on ad sites, is repaired run by run so the rest of the text is untouched.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import trafilatura
from selectolax.lexbor import LexborHTMLParser

_BLOCK_END_RE = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|h[1-6]|ul|ol|table|section|article|blockquote)\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[a-zA-Z/!][^<>]*>")  # no '<' inside: an unclosed "<a <a <a" is read once
_CP1252_EXTRA = "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_MOJIBAKE_RE = re.compile(rf"(?:[\u00c2-\u00f4](?:[\u0080-\u00bf]|[{_CP1252_EXTRA}]){{1,3}})+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible characters that reorder or hide text (a right-to-left override turns "gpj.exe" into
# "exe.jpg" on screen; a zero-width space splits a phone number): bidi embeddings, overrides,
# isolates and marks, zero-width spaces and joiners, word joiner, invisible operators, BOM, soft hyphen.
_INVISIBLE_RE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\u180e]")
_BOILERPLATE_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "header", "footer", "form", "iframe")
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
    return _MOJIBAKE_RE.sub(_repair, text)


def clean_text(text: str) -> str:
    """Unescape entities, repair mojibake, drop controls and invisible bidi/zero-width characters,
    normalise line ends and trailing spaces."""
    text = html.unescape(text or "")
    text = fix_mojibake(text).replace("\r\n", "\n").replace("\r", "\n").replace("\ufffd", " ")
    text = _INVISIBLE_RE.sub("", _CONTROL_RE.sub("", text))
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
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


def body_text(tree: LexborHTMLParser) -> str:
    """Plain text of the page body without scripts, navigation and other chrome."""
    body = tree.body
    if body is None:
        return ""
    clone = LexborHTMLParser(body.html or "")
    clone.strip_tags(list(_BOILERPLATE_TAGS))
    marked = _BLOCK_END_RE.sub("\n", clone.body.html if clone.body else "")
    return fragment_to_text(marked)


def main_text(page_html: str, tree: LexborHTMLParser) -> str:
    """The ad's main text: trafilatura's extraction, unless the page is little more than the ad.

    trafilatura drops loose text outside block elements (common in ad bodies written with
    <br>s); when the whole body text is not much longer than its extraction, there is little
    boilerplate to remove and the body text is the more complete choice.
    """
    whole = body_text(tree)
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
