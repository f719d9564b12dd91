"""Character spans of a text: which are taken, and the text with them blanked out."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import accumulate


class Spans:
    """Character spans, asked whether a span overlaps any of them in O(log n).

    Sorted by start with a running maximum of the ends: the spans starting before ``end`` overlap
    ``[start, end)`` exactly when the largest of their ends is past ``start``. Adding marks the
    index stale; it is rebuilt (O(n log n)) on the next question, so add in bulk, then ask.
    """

    def __init__(self, spans: Iterable[tuple[int, int]] = ()):
        self._spans = list(spans)
        self._starts: list[int] = []
        self._max_ends: list[int] = []
        self._stale = True

    def add(self, start: int, end: int) -> None:
        self._spans.append((start, end))
        self._stale = True

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._spans)

    def overlaps(self, start: int, end: int) -> bool:
        if self._stale:
            self._spans.sort()
            self._starts = [s for s, _ in self._spans]
            self._max_ends = list(accumulate((e for _, e in self._spans), max))
            self._stale = False
        before = bisect_left(self._starts, end)
        return before > 0 and self._max_ends[before - 1] > start


def masked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with ``spans`` blanked out (same length, so offsets still point into ``text``)."""
    parts: list[str] = []
    at = 0
    for start, end in sorted(spans):
        start = max(start, at)
        if end > start:
            parts += [text[at:start], " " * (end - start)]
            at = end
    parts.append(text[at:])
    return "".join(parts)
