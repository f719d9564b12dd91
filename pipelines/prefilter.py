"""Which of many regexes can match a text, in one Hyperscan pass over it.

Matching each indicator's regex on every ad costs one scan of the text per indicator, and most
of them find nothing. Hyperscan compiles all the patterns into one automaton (in prefilter mode,
which accepts lookarounds and possessive quantifiers by widening them) and reports, in linear
time, the patterns that may match. Only those are then run with Python's ``re`` for the exact
spans, so the result is the same as running every pattern. A pattern Hyperscan cannot compile is
always run.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import hyperscan

_FLAGS = (
    hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP
    | hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
)  # fmt: skip


class PatternSet:
    """Case-insensitive Python regexes, indexed by position, with a one-pass ``candidates``."""

    def __init__(self, patterns: Sequence[str]):
        self.always: set[int] = set()
        compiled: list[int] = []
        for index, pattern in enumerate(patterns):
            try:  # one at a time: one pattern Hyperscan rejects must not disable the rest
                hyperscan.Database().compile(expressions=[pattern.encode("utf-8")], ids=[index], flags=[_FLAGS])
            except hyperscan.error:
                self.always.add(index)
            else:
                compiled.append(index)
        self._database: hyperscan.Database | None = None
        if compiled:
            self._database = hyperscan.Database()
            self._database.compile(
                expressions=[patterns[i].encode("utf-8") for i in compiled], ids=compiled,
                elements=len(compiled), flags=[_FLAGS] * len(compiled),
            )  # fmt: skip
        self._local = threading.local()

    def candidates(self, text: str) -> set[int]:
        """Indexes of the patterns that may match ``text`` (a superset of those that do)."""
        found = set(self.always)
        if self._database is None or not text:
            return found
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:  # a scratch space may be used by one scan at a time: one per thread
            scratch = self._local.scratch = hyperscan.Scratch(self._database)

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            found.add(index)

        self._database.scan(text.encode("utf-8", "replace"), match_event_handler=on_match, scratch=scratch)
        return found
