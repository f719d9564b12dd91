"""Alert text that stays inert wherever it lands: e-mail, chat, webhooks.

An alert repeats words a trafficker wrote (title, text snippets, URLs, handles). Rendered as
HTML or Markdown by a mail client or a chat service, such words could load a tracking pixel,
ping a whole channel or offer a one-click link to the criminal's site. So every value that comes
from an ad passes ``neutralise`` (no tags, no mentions, no links, no control characters), the
body is sent as plain text (Apprise ``body_format`` TEXT), and a subscriber chooses how much of
the ad an alert carries at all (``content``): ``minimal`` names the rule, the ad key and a Vigil
link only. Ads escalated for review (minors) are always minimal: their details stay in Vigil.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Literal

Content = Literal["minimal", "summary", "full"]
CONTENT_LEVELS: tuple[str, ...] = ("minimal", "summary", "full")

FIELD_LIMIT = 300
TITLE_LIMIT = 200
CHANGE_LINES = 20
TEXT_DIFF_LIMIT = 1000

_KEEP = {"\n"}
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!@#?$%&*])")
_SCHEME = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,20}):(//|\\\\)")
_WWW = re.compile(r"\bwww\.", re.IGNORECASE)
_HOST = re.compile(r"\b(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z][A-Za-z0-9-]{1,62}\b")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_MENTION = re.compile(r"(?<![\w.+-])@(?=[\w])")
_MARKDOWN_LINK = re.compile(r"\]\s*\(")


def _strip_controls(text: str) -> str:
    """Drop control and format characters (bidi overrides, zero-width joiners), tabs become spaces."""
    out = []
    for char in text:
        if char in _KEEP:
            out.append(char)
        elif char in "\t\r\v\f\u2028\u2029\x85":
            out.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Cn"):
            continue
        else:
            out.append(char)
    return "".join(out)


def neutralise(value: object, limit: int = FIELD_LIMIT, *, multiline: bool = False) -> str:
    """Text from an ad made harmless for any renderer: no tags, mentions, links or control characters.

    ``<`` before a tag-like character becomes ``‹`` (kills HTML and Slack's ``<!here>``/``<@U1>``),
    ``@name`` becomes ``＠name`` (no @everyone, @here or user pings), URL schemes and host names are
    defanged (``hxxp``-style: ``http[:]//board[.]example``) so no client turns them into links, and
    Markdown's ``](`` is broken apart. Bounded to ``limit`` characters.
    """
    text = _strip_controls(str(value or ""))
    if not multiline:
        text = " ".join(text.split())
    text = text[: limit * 2]
    text = _TAG_OPEN.sub("\u2039", text)
    text = _SCHEME.sub(lambda m: f"{m.group(1)}[:]//", text)
    text = _WWW.sub(lambda m: m.group(0)[:3] + "[.]", text)
    text = _HOST.sub(lambda m: m.group(0).replace(".", "[.]"), text)
    text = _IPV4.sub(lambda m: m.group(0).replace(".", "[.]"), text)
    text = _MENTION.sub("\uff20", text)
    text = _MARKDOWN_LINK.sub("] (", text)
    text = text.replace("![", "! [")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def vigil_link(template: str, alert_id: str, ad_key: str) -> str:
    """Where an analyst reads the full alert inside Vigil (``alerts.link_template``)."""
    return template.format(alert_id=alert_id, ad_key=ad_key)


def effective_content(content: str, escalated: bool) -> str:
    """The content level actually used: escalated ads are always ``minimal``."""
    return "minimal" if escalated else content


def render(
    *,
    content: str,
    rule_id: str,
    rule_description: str,
    ad_key: str,
    link: str,
    escalated: bool,
    profile_id: str,
    network: str,
    country: str | None,
    risk: int,
    indicators: list[str],
    evidence: list[str],
    event_type: str,
    occurred_at: datetime,
    ad_title: str,
    ad_url: str,
    changes: list[str] = (),
    text_diff: str = "",
) -> tuple[str, str]:
    """(title, plain-text body) of one alert at the subscriber's content level. ``changes`` (an
    ad.changed event's field diff, one line each) come from the ad like everything else: they are
    neutralised and shown from ``summary`` on; ``text_diff`` (the ad's own words) only at ``full``."""
    level = effective_content(content, escalated)
    key = neutralise(ad_key, 200)
    if level == "full" and ad_title:
        title = f"[Vigil] {rule_id}: {neutralise(ad_title, TITLE_LIMIT)}"
    else:
        title = f"[Vigil] {rule_id}: {key}"
    lines = [f"Rule: {rule_id}" + (f" - {rule_description}" if rule_description else ""), f"Ad: {key}"]
    if escalated:
        lines.append("Escalated for review: the ad's details are shown only inside Vigil.")
    if level in ("summary", "full"):
        place = f"{network}, {neutralise(country, 8)}" if country else network
        lines += [
            f"Site: {profile_id} ({place})",
            f"Risk: {risk}",
            f"Indicators: {', '.join(neutralise(i, 60) for i in indicators)}" if indicators else "",
            "Evidence:",
            *[f"- {neutralise(line)}" for line in evidence[:20]],
        ]
    if level in ("summary", "full") and changes:
        lines += ["Changes since the last version:", *[f"- {neutralise(line)}" for line in changes[:CHANGE_LINES]]]
    if level == "full":
        lines += [
            f"Title: {neutralise(ad_title, TITLE_LIMIT)}" if ad_title else "",
            f"URL (defanged): {neutralise(ad_url, 500)}",
        ]
        if text_diff:
            diff = neutralise(text_diff, TEXT_DIFF_LIMIT, multiline=True).splitlines()
            lines += ["Text changes:", *[f"  {line}" for line in diff if line.strip()]]
    if level != "minimal":
        lines.append(f"Event: {event_type} at {occurred_at.isoformat(timespec='seconds')}")
    lines.append(f"Open in Vigil: {link}")
    return title[:TITLE_LIMIT], "\n".join(line for line in lines if line)


def digest(subscriber: str, messages: list[str]) -> tuple[str, str]:
    """(title, body) of one message carrying several already rendered alerts."""
    return f"[Vigil] {len(messages)} alerts for {subscriber}", "\n\n---\n\n".join(messages)
