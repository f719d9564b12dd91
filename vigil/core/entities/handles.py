"""Messaging handles and profile links, normalised to ``platform:name`` (lower-case).

Links (t.me/NAME, wa.me/NUMBER, instagram.com/NAME ...) are recognised anywhere; bare names
only after a platform word ("telegram: @name", "snap - name", "kik: name"), because an "@name"
alone does not say which platform it belongs to. A phone number next to a messenger that uses
phone numbers as ids ("WhatsApp: 06-12 34 56 78", "call 0722 123 456 or WhatsApp") is also that
messenger's handle, ``whatsapp:+E164``: analysts search contacts by messenger as well as by number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vigil.core.entities.phones import normalize_phone

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
    "line": r"line\.me/(?:ti/p/~?|R/ti/p/~?)?(" + _NAME + ")",
}
CONTEXT_WORDS: dict[str, str] = {
    "telegram": r"telegram|telegramm|tg",
    "whatsapp": r"whats\s?app|whatsap|watsapp|wa",
    "signal": r"signal",
    "snapchat": r"snap\s?chat|snap|sc",
    "instagram": r"insta\s?gram|insta|ig",
    "onlyfans": r"only\s?fans",
    "threema": r"threema",
    "kik": r"kik",
    "wechat": r"we\s?chat|weixin|微信",
    "twitter": r"twitter|tweeter|x(?=\s*[:=]?\s*@)",
    "line": r"line(?=\s*(?:id|app)(?![^\W\d_]))",
    "viber": r"viber",
}
PHONE_MESSENGERS: dict[str, str] = {
    "whatsapp": r"whats\s?app|whatsap|watsapp|wa",
    "telegram": r"telegramm?",
    "signal": r"signal",
    "viber": r"viber",
}
_AFTER_NUMBER = ("whatsapp", "telegram", "viber")
_RESERVED = {"joinchat", "share", "s", "p", "explore", "home", "login", "signup", "add", "send", "intent"}

LINK_RE = {
    platform: re.compile(r"(?<![\w-])(?:https?://)?(?:www\.)?" + pattern, re.IGNORECASE)
    for platform, pattern in LINK_PATTERNS.items()
}
_CUE = (
    r"\s*(?:(?:id|name|user\s?name|user|handle|nick|account|acc|addy)(?![^\W\d_]))?\s*"
    r"(?:(?:[:=\-–>~：→]+|@|(?:is|es|est|c'est|ist|è|é|este|jest|(?:add\s+)?me(?:\s+(?:at|on|@))?|at)(?![^\W\d_]))\s*)+"
)
CONTEXT_RE = {
    platform: re.compile(rf"(?<![^\W\d_])(?:{words})(?![^\W\d_]){_CUE}@?\s*({_NAME})", re.IGNORECASE)
    for platform, words in CONTEXT_WORDS.items()
}
AFTER_NAME_RE = {
    platform: re.compile(rf"(?<![\w@])@\s?({_NAME})\s+(?:on|via|at|in|@)\s+(?:{words})(?![^\W\d_])", re.IGNORECASE)
    for platform, words in CONTEXT_WORDS.items()
    if platform not in ("twitter", "line", "whatsapp", "viber")
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
    "line": ("line.me/",),
}
_FULL_WORDS = r"snap\s?chat|snap|insta\s?gram|insta|telegram|kik|we\s?chat|twitter|only\s?fans"
BARE_NAME_RE = re.compile(
    rf"(?<![^\W\d_])(?P<platform>{_FULL_WORDS})\s+@?(?=[A-Za-z0-9_.\-]*[0-9_.])(?P<name>{_NAME})(?![\w@])", re.IGNORECASE
)
ANY_CONTEXT_RE = re.compile(
    r"(?<![^\W\d_])(?:" + "|".join(CONTEXT_WORDS.values()) + r")(?![^\W\d_])", re.IGNORECASE
)
_STOP_NAMES = {
    "me", "only", "and", "or", "the", "for", "to", "at", "is", "my", "on", "of", "with", "a", "an", "it", "in",
    "available", "also", "too", "ok", "please", "call", "text", "sms", "here", "now", "you", "your", "if", "when",
    "tonight", "today", "later", "anytime", "any", "babe", "baby", "daddy", "back", "up", "first", "soon", "asap",
    "hun", "honey", "love", "then", "after", "before", "info", "more", "details", "pics", "pictures", "photos",
    "videos", "video", "private", "free", "premium", "page", "account", "id", "name", "username", "user", "handle",
    "message", "msg", "dm", "pm", "chat", "add", "follow", "contact", "number", "phone", "app",
}


def _platform_of(word: str) -> str:
    return next(p for p, words in CONTEXT_WORDS.items() if re.fullmatch(words, word, re.IGNORECASE))


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
    numeric = re.fullmatch(r"\+?[0-9]{6,15}", name)
    if platform in PHONE_MESSENGERS and (numeric or platform in ("whatsapp", "viber")):
        e164 = normalize_phone(name if name.startswith("+") else "+" + name)
        return f"{platform}:{e164}" if e164 else None
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
    for platform, regex in [*CONTEXT_RE.items(), *AFTER_NAME_RE.items(), ("", BARE_NAME_RE)]:
        for match in regex.finditer(text):
            if regex is BARE_NAME_RE:
                platform = _platform_of(match.group("platform"))
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            name = match.group("name") if regex is BARE_NAME_RE else match.group(1)
            if platform in PHONE_MESSENGERS and re.fullmatch(r"[0-9+]+", name):
                continue
            if re.fullmatch(r"[0-9]+", name) and platform != "threema":
                continue
            value = normalize_handle(platform, name)
            if value:
                taken.append(match.span())
                yield HandleMatch(match.start(), match.end(), platform, value, match.group(0))


MESSENGER_RE = re.compile(
    r"(?<![^\W\d_])(?:" + "|".join(f"(?P<{p}>{w})" for p, w in PHONE_MESSENGERS.items()) + r")(?![^\W\d_])",
    re.IGNORECASE,
)
_LINK_WORDS = (
    r"me|us|on|at|to|al|au|op|an|na|pe|per|via|only|nur|solo|no|nr|number|nummer|numéro|número|numero|numer"
    r"|or|and|of|o|ou|oder|und|sau|lub|y|e|et|en|i|" + "|".join(PHONE_MESSENGERS.values())
)
_BEFORE_NUMBER_GAP = re.compile(
    rf"[\s:=\-–>.()/&]*(?:(?:{_LINK_WORDS})\.?(?![^\W\d_])[\s:=\-–>()/&]*){{0,3}}", re.IGNORECASE
)
_AFTER_NUMBER_GAP = re.compile(r"[^\d.!?:@\n\r]{1,25}")
# Read right after a messenger word (never from inside a run of spaces), possessively: "WhatsApp"
# followed by 100,000 spaces is read once, not split between the \s* in every way.
_NAME_FOLLOWS = re.compile(r"(?<!\s)\s*+(?:id|name|username|nick)?\s*+(?:[:=@]|[-–]\s*+@?)\s*+@?[^\W\d_]", re.IGNORECASE)


def find_messenger_numbers(text: str, phones: Iterable[tuple[int, int, str]]) -> Iterator[HandleMatch]:
    """Handles of phone numbers (start, end, E.164) that a messenger word introduces ("WhatsApp:
    06...") or, for WhatsApp, Telegram and Viber, follows in the same sentence ("06... or WhatsApp").
    A word that introduces a number, or a name ("Telegram: @x"), says nothing about earlier ones."""
    phones = sorted(phones)
    for match in MESSENGER_RE.finditer(text):
        platform = match.lastgroup or ""
        after = next((p for p in phones if p[0] >= match.end()), None)
        if after and _BEFORE_NUMBER_GAP.fullmatch(text, match.end(), after[0]):
            start, end, e164 = match.start(), after[1], after[2]
        elif platform in _AFTER_NUMBER and not _NAME_FOLLOWS.match(text, match.end()):
            before = next((p for p in reversed(phones) if p[1] <= match.start()), None)
            if not before or not _AFTER_NUMBER_GAP.fullmatch(text, before[1], match.start()):
                continue
            start, end, e164 = before[0], match.end(), before[2]
        else:
            continue
        yield HandleMatch(start, end, platform, f"{platform}:{e164}", text[start:end])


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
