"""E-mail addresses, plain and in the obfuscated "name at domain dot com" forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

from vigil.core.entities.spans import Spans

_AT_WORDS = r"(?:at|arroba|chez|bij|apenstaartje|klammeraffe|malpa|małpa|chiocciola|arond)\b|@"
_DOT_WORDS = r"(?:dot|punt|punkt|point|punto|ponto|kropka)\b|\."
# Possessive: a long run of spaces is read once, not split between the two \s* in every way.
_OPEN = r"\s*+[\(\[\{<]?\s*+"
_CLOSE = r"\s*+[\)\]\}>]?\s*+"
_COMMON_TLDS = (
    "com|net|org|info|biz|eu|nl|de|fr|es|it|pl|ro|pt|uk|co|ru|ua|be|at|ch|se|no|dk|fi|cz|sk|hu|bg|gr"
    "|ie|lt|lv|ee|hr|si|us|ca|me|io|cc|tv|xyz"
)

PLAIN_RE = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]{0,63})@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,18})(?![\w-])"
)
# The local part is possessive: none of its characters can begin the separator after it, so giving
# some back never lets a match through, and the regex would otherwise try that at every word.
OBFUSCATED_RE = re.compile(
    rf"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}}+)"
    rf"(?:\s*+[\(\[\{{<]\s*+(?:{_AT_WORDS})\s*+[\)\]\}}>]\s*+|\s++(?:{_AT_WORDS})\s++|\s*+@\s*+)"
    rf"((?:[A-Za-z0-9-]{{1,63}}(?:{_OPEN}(?:{_DOT_WORDS}){_CLOSE}|\s++(?:{_DOT_WORDS})\s++))+)"
    rf"({_COMMON_TLDS})\b",
    re.IGNORECASE,
)
# A separator follows a label, never a space: a run of spaces is entered once, not from each space.
_DOT_SPLIT_RE = re.compile(rf"(?<!\s)(?:{_OPEN}(?:{_DOT_WORDS}){_CLOSE}|\s++(?:{_DOT_WORDS})\s++)", re.IGNORECASE)


def normalize_email(value: str) -> str | None:
    """Lower-case address if it is shaped like one, else None."""
    value = value.strip().strip("<>()[]").lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:") :]
    match = PLAIN_RE.fullmatch(value)
    return value if match else None


def find_emails(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """(start, end, normalised address, obfuscated) for each address in ``text``."""
    taken = Spans()
    for match in PLAIN_RE.finditer(text) if "@" in text else ():
        value = normalize_email(match.group(0))
        if value:
            taken.add(*match.span())
            yield match.start(), match.end(), value, False
    for match in OBFUSCATED_RE.finditer(text):
        if taken.overlaps(match.start(), match.end()):
            continue
        labels = [part for part in _DOT_SPLIT_RE.split(match.group(2)) if part]
        value = normalize_email(f"{match.group(1)}@{'.'.join(labels)}.{match.group(3)}")
        if value:
            yield match.start(), match.end(), value, True
