"""Cron triggers with crontab's weekday numbers (APScheduler 3.x counts from Monday = 0)."""

from __future__ import annotations

import re
from datetime import UTC

from apscheduler.triggers.cron import CronTrigger


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) in APScheduler 3.x numbering (0 = Monday)."""
    if not re.search(r"\d", field) or re.search(r"[a-zA-Z]", field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first, last = (int(x) for x in span.split("-", 1))
        else:
            first = last = int(span)
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step >= 1):
            raise ValueError(f"day-of-week {part!r} is out of range 0-7")
        days.update(n % 7 for n in range(first, last + 1, step))
    return ",".join(str(n) for n in sorted((d + 6) % 7 for d in days))


def cron_trigger(expr: str, jitter: float | None) -> CronTrigger:
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 crontab fields, got {len(values)}")
    minute, hour, day, month, weekday = values
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=UTC,
        jitter=jitter,
    )
