"""Messaging handles and profile links, normalised to ``platform:name`` (lower-case).

Links (t.me/NAME, wa.me/NUMBER, instagram.com/NAME ...) are recognised anywhere; bare names
only after a platform word ("telegram: @name", "snap - name", "kik: name"), because an "@name"
alone does not say which platform it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.phones import normalize_phone

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]{1,40}"

LINK_PATTERNS: dict[str, str] = {
    "telegram": r"(?:t\.me|telegram\.me|telegram\.dog)/(?:joinchat/|\+)?(" + _NAME + ")",
    "whatsapp": r"(?:wa\.me/|api\.whatsapp\.com/send/?\?phone=|whatsapp\.com/send/?\?phone=)(\+?[0-9]{6,15})",
    "signal": r"signal\.me/#(?:p|eu)/([A-Za-z0-9+_.\-]{3,60})",
    "snapchat": r"snapchat\.com/add/(" + _NAME + ")",
    "instagram": r"instagram\.com/(" + _NAME + ")",
    "onlyfans": r"onlyfans\.com/(" + _NAME + ")",
    "threema": r"threema\.id/([A-Z0-9*]{8})",
    "kik": r"kik\.me/(" + _NAME + ")",
    "twitter": r"(?:twitter\.com|x\.com)/(" + _NAME + ")",
    "wechat": r"u\.wechat\.com/([A-Za-z0-9_\-]{4,40})",
}
CONTEXT_WORDS: dict[str, str] = {
    "telegram": r"telegram|telegramm|tg",
    "whatsapp": r"whats\s?app|whatsap|watsapp|wa",
    "signal": r"signal",
    "snapchat": r"snapchat|snap|sc",
    "instagram": r"instagram|insta|ig",
    "onlyfans": r"onlyfans|only\s?fans",
    "threema": r"threema",
    "kik": r"kik",
    "wechat": r"wechat|weixin|微信",
    "twitter": r"twitter",
}
_RESERVED = {"joinchat", "share", "s", "p", "explore", "home", "login", "signup", "add", "send", "intent"}

LINK_RE = {
    platform: re.compile(r"(?:https?://)?(?:www\.)?" + pattern, re.IGNORECASE)
    for platform, pattern in LINK_PATTERNS.items()
}
CONTEXT_RE = {
    platform: re.compile(
        rf"(?<![^\W\d_])(?:{words})(?![^\W\d_])\s*(?:id|name|username|nick)?\s*(?:[:=\-–>]+\s*@?|@)({_NAME})",
        re.IGNORECASE,
    )
    for platform, words in CONTEXT_WORDS.items()
}
LINK_HOSTS: dict[str, tuple[str, ...]] = {
    "telegram": ("t.me/", "telegram.me/", "telegram.dog/"),
    "whatsapp": ("wa.me/", "whatsapp.com/"),
    "signal": ("signal.me/",),
    "snapchat": ("snapchat.com/",),
    "instagram": ("instagram.com/",),
    "onlyfans": ("onlyfans.com/",),
    "threema": ("threema.id/",),
    "kik": ("kik.me/",),
    "twitter": ("twitter.com/", "x.com/"),
    "wechat": ("wechat.com/",),
}
ANY_CONTEXT_RE = re.compile(
    r"(?<![^\W\d_])(?:" + "|".join(CONTEXT_WORDS.values()) + r")(?![^\W\d_])\s*(?:id|name|username|nick)?\s*[:=\-–>@]",
    re.IGNORECASE,
)
_STOP_NAMES = {
    "me", "only", "and", "or", "the", "for", "to", "at", "is", "my", "on", "of", "with",
    "available", "also", "too", "ok", "please", "call", "text", "sms", "here", "now",
}


@dataclass(frozen=True)
class HandleMatch:
    start: int
    end: int
    platform: str
    value: str
    raw: str


def normalize_handle(platform: str, name: str) -> str | None:
    platform = platform.strip().lower()
    name = name.strip().lstrip("@").rstrip(".-_").lower()
    if platform == "signal" and re.fullmatch(r"\+?[0-9]{6,15}", name):
        e164 = normalize_phone(name if name.startswith("+") else "+" + name)
        return f"signal:{e164}" if e164 else None
    if platform == "whatsapp":
        e164 = normalize_phone(name if name.startswith("+") else "+" + name)
        return f"whatsapp:{e164}" if e164 else None
    if platform == "threema":
        name = name.upper() if re.fullmatch(r"[a-z0-9*]{8}", name) else ""
        return f"threema:{name.lower()}" if name else None
    if platform not in LINK_PATTERNS or not re.fullmatch(r"[a-z0-9_][a-z0-9_.\-+]{1,59}", name):
        return None
    if name in _RESERVED or name in _STOP_NAMES:
        return None
    return f"{platform}:{name}"


def find_handles(text: str) -> Iterator[HandleMatch]:
    taken: list[tuple[int, int]] = []
    lowered = text.lower()
    for platform, regex in LINK_RE.items():
        if not any(host in lowered for host in LINK_HOSTS[platform]):
            continue
        for match in regex.finditer(text):
            value = normalize_handle(platform, match.group(1))
            if value:
                taken.append(match.span())
                yield HandleMatch(match.start(), match.end(), platform, value, match.group(0))
    if not ANY_CONTEXT_RE.search(text):
        return
    for platform, regex in CONTEXT_RE.items():
        for match in regex.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            name = match.group(1)
            if platform in ("whatsapp", "signal") and re.fullmatch(r"[0-9+]+", name):
                continue
            if re.fullmatch(r"[0-9]+", name) and platform != "threema":
                continue
            value = normalize_handle(platform, name)
            if value:
                yield HandleMatch(match.start(), match.end(), platform, value, match.group(0))


def parse_handle(value: str) -> str | None:
    """Normalise a handle written as ``platform:name``, a profile link, or "telegram @name"."""
    value = value.strip()
    for platform, regex in LINK_RE.items():
        match = regex.fullmatch(value.rstrip("/"))
        if match:
            return normalize_handle(platform, match.group(1))
    if ":" in value and not value.lower().startswith("http"):
        platform, _, name = value.partition(":")
        platform = platform.strip().lower()
        for known, words in CONTEXT_WORDS.items():
            if re.fullmatch(words, platform, re.IGNORECASE):
                return normalize_handle(known, name)
    for match in find_handles(value):
        return match.value
    return None
