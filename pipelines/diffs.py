"""The field-level diff between two versions of an ad: what an investigator asks first ("the phone
changed from X to Y, the price went up, the text now says ...").

Pure and bounded: an ad's text is written by whoever posted it, so the text diff looks at no more
than ``TEXT_WORDS`` words of each side after their common start and end are set aside (a 2 MB text
costs milliseconds), and the summary it returns is at most ``TEXT_DIFF_CHARS`` characters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from vigil.core.records import FieldChange

VALUE_CHARS = 200
LIST_VALUES = 20
TEXT_WORDS = 600
TEXT_DIFF_CHARS = 1000
HUNK_CHARS = 160
LIST_FIELDS = ("phones", "emails", "wallets", "handles", "onions")  # the contact lists a version keeps
SCALAR_FIELDS = ("title", "price", "location")
_WORD = re.compile(r"\S+")


def _clip(value: str, limit: int = VALUE_CHARS) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def price_text(price: Mapping[str, Any] | None) -> str | None:
    """A price as a reader says it: the page's own wording, else amount and currency."""
    if not price:
        return None
    if price.get("raw"):
        return str(price["raw"])
    if price.get("amount") is None:
        return None
    return f"{price['amount']:g} {price.get('currency') or ''}".strip()


def _scalar(source: Mapping[str, Any], name: str) -> str | None:
    value = price_text(source.get("price")) if name == "price" else source.get(name)
    value = " ".join(str(value).split()) if value is not None else ""
    return _clip(value) if value else None


def _list_changes(name: str, before: list[str], after: list[str]) -> list[FieldChange]:
    removed = [v for v in dict.fromkeys(before) if v not in set(after)]
    added = [v for v in dict.fromkeys(after) if v not in set(before)]
    if len(removed) == 1 and len(added) == 1:
        return [FieldChange(field=name, change="changed", before=_clip(removed[0]), after=_clip(added[0]))]
    return [FieldChange(field=name, change="removed", before=_clip(v)) for v in removed[:LIST_VALUES]] + [
        FieldChange(field=name, change="added", after=_clip(v)) for v in added[:LIST_VALUES]
    ]


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Changes from ``before`` to ``after`` (ad or version sources): scalars first, then contacts."""
    changes: list[FieldChange] = []
    for name in SCALAR_FIELDS:
        old, new = _scalar(before, name), _scalar(after, name)
        if old == new:
            continue
        kind = "added" if old is None else "removed" if new is None else "changed"
        changes.append(FieldChange(field=name, change=kind, before=old, after=new))
    for name in LIST_FIELDS:
        changes += _list_changes(name, list(before.get(name) or []), list(after.get(name) or []))
    return changes


def _words(text: str, limit: int) -> list[str]:
    words: list[str] = []
    for match in _WORD.finditer(text):
        if len(words) >= limit:
            break
        words.append(match.group(0))
    return words


def text_diff(before: str, after: str) -> str:
    """A short word-level summary of how the text changed ("- old words" / "+ new words" lines),
    at most ``TEXT_DIFF_CHARS`` characters; empty when the words are the same."""
    if before == after:
        return ""
    old, new = _words(before or "", 4 * TEXT_WORDS + 1), _words(after or "", 4 * TEXT_WORDS + 1)
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    old_mid, new_mid = old[start : len(old) - end], new[start : len(new) - end]
    read = 4 * TEXT_WORDS + 1
    clipped = len(old) >= read or len(new) >= read or len(old_mid) > TEXT_WORDS or len(new_mid) > TEXT_WORDS
    if not old_mid and not new_mid and not clipped:
        return ""
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_mid[:TEXT_WORDS], new_mid[:TEXT_WORDS])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            lines.append("- " + _clip(" ".join(old_mid[i1:i2]), HUNK_CHARS))
        if tag in ("replace", "insert"):
            lines.append("+ " + _clip(" ".join(new_mid[j1:j2]), HUNK_CHARS))
    if clipped:
        lines.append("(the text is longer than the diff reads; diff cut short)")
    summary = "\n".join(lines)
    return summary if len(summary) <= TEXT_DIFF_CHARS else summary[: TEXT_DIFF_CHARS - 1] + "\u2026"

