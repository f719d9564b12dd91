"""Which of many regexes can match a text, in one Hyperscan pass over it.

Matching each indicator's regex on every ad costs one scan of the text per indicator, and most
of them find nothing. Hyperscan compiles all the patterns into one automaton (in prefilter mode,
which accepts lookarounds and possessive quantifiers by widening them) and reports, in linear
time, the patterns that may match. Only those are then run with Python's ``re`` for the exact
spans, so the result is the same as running every pattern. A pattern Hyperscan cannot compile, or
compiled with flags it has no equivalent for, is always run.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import hyperscan

_FLAGS = (
    hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP
    | hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
)  # fmt: skip


_UNSUPPORTED = re.VERBOSE | re.ASCII | re.LOCALE


def _hyperscan_flags(pattern: str | re.Pattern[str]) -> int | None:
    """Hyperscan's flags for a pattern (always caseless: a wider match is still a superset)."""
    if isinstance(pattern, str):
        return _FLAGS
    if pattern.flags & _UNSUPPORTED:
        return None
    return (
        _FLAGS | (hyperscan.HS_FLAG_MULTILINE if pattern.flags & re.MULTILINE else 0)
        | (hyperscan.HS_FLAG_DOTALL if pattern.flags & re.DOTALL else 0)
    )  # fmt: skip


def _compile(indexes: list[int], sources: list[bytes], flags: list) -> hyperscan.Database | None:
    """One database for the patterns at ``indexes`` (compiling costs seconds for a taxonomy:
    done once per process), None when there are none or Hyperscan rejects one."""
    if not indexes:
        return None
    database = hyperscan.Database()
    try:
        database.compile(
            expressions=[sources[i] for i in indexes], ids=indexes, elements=len(indexes),
            flags=[flags[i] for i in indexes],
        )  # fmt: skip
    except hyperscan.error:
        return None
    return database


class PatternSet:
    """Python regexes (sources are read as case-insensitive), indexed by position, with a
    one-pass ``candidates``."""

    def __init__(self, patterns: Sequence[str | re.Pattern[str]]):
        self._flags = [_hyperscan_flags(p) for p in patterns]
        self._sources = [(p if isinstance(p, str) else p.pattern).encode("utf-8") for p in patterns]
        self._always: set[int] | None = None
        self._database: hyperscan.Database | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def _compiled(self) -> tuple[set[int], hyperscan.Database | None]:
        """Compiled on first use: a taxonomy that is only validated never pays for it."""
        with self._lock:
            if self._always is None:
                sources, flags = self._sources, self._flags
                always = {index for index, f in enumerate(flags) if f is None}
                readable = [index for index, f in enumerate(flags) if f is not None]
                database = _compile(readable, sources, flags)
                if database is None and readable:  # one pattern Hyperscan rejects must not disable the rest
                    always |= {index for index in readable if _compile([index], sources, flags) is None}
                    database = _compile([i for i in readable if i not in always], sources, flags)
                self._database, self._always = database, always
            return self._always, self._database

    @property
    def always(self) -> set[int]:
        """Indexes of the patterns that are always candidates (Hyperscan cannot read them)."""
        return set(self._compiled()[0])

    def candidates(self, text: str) -> set[int]:
        """Indexes of the patterns that may match ``text`` (a superset of those that do)."""
        always, database = self._compiled() if self._always is None else (self._always, self._database)
        found = set(always)
        if database is None or not text:
            return found
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:  # a scratch space may be used by one scan at a time: one per thread
            scratch = self._local.scratch = hyperscan.Scratch(database)

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            found.add(index)

        database.scan(text.encode("utf-8", "replace"), match_event_handler=on_match, scratch=scratch)
        return found

    def may_match(self, text: str) -> bool:
        return bool(self.candidates(text))
