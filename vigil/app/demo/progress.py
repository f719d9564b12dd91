"""What the demo's live panel shows, measured where the truth is: Elasticsearch, Kafka and the inbox.

``Progress.measure()`` returns a ``Snapshot``; ``panel()`` renders it with rich. Nothing here
changes state, so the panel can be redrawn as often as the terminal likes.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vigil.app.demo.consumer_groups import ConsumerGroups
from vigil.core.config import Indices


@dataclass
class InboxLine:
    rule_id: str
    url: str
    title: str
    evidence: list[str]


class Inbox:
    """Reads the alerts appended to the inbox file since the demo started."""

    def __init__(self, path: Path):
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def lines(self) -> list[InboxLine]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.start)
            raw = handle.read()
        found = []
        for line in raw.decode("utf-8", "replace").splitlines():
            try:
                alert = json.loads(line)
            except ValueError:
                continue
            found.append(
                InboxLine(
                    alert.get("rule_id", ""),
                    alert.get("url", ""),
                    alert.get("title", ""),
                    alert.get("evidence") or [],
                )
            )
        return found


@dataclass
class Jobs:
    finished: int = 0
    failed: int = 0
    running: int = 0
    pages: int = 0
    baseline_done: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


@dataclass
class Snapshot:
    at: float
    board_ads: int
    jobs: Jobs
    ads: int
    entities: int
    new_ads_indexed: int
    alerts: list[InboxLine]
    webhook: int
    lag: dict[str, int]
    errors: list[str] = field(default_factory=list)

    @property
    def alerts_by_rule(self) -> Counter:
        return Counter(a.rule_id for a in self.alerts)


class Progress:
    def __init__(self, es, indices: Indices, profile_ids: list[str], groups: ConsumerGroups, inbox: Inbox):
        self.es = es
        self.indices = indices
        self.profile_ids = profile_ids
        self.groups = groups
        self.inbox = inbox

    def _count(self, index: str, query: dict[str, Any]) -> int:
        return int(self.es.count(index=index, query=query)["count"])

    def jobs(self) -> Jobs:
        found = self.es.search(
            index=self.indices.jobs,
            query={"terms": {"profile_id": self.profile_ids}},
            size=1000,
            source=["profile_id", "state", "baseline", "pages", "message"],
        )
        jobs = Jobs()
        for hit in found["hits"]["hits"]:
            job = hit["_source"]
            state = job.get("state")
            if state == "finished":
                jobs.finished += 1
                jobs.pages += int(job.get("pages") or 0)
                if job.get("baseline"):
                    jobs.baseline_done.add(job["profile_id"])
            elif state == "failed":
                jobs.failed += 1
                jobs.failures.append(f"{job['profile_id']}: {job.get('message') or 'failed'}")
            elif state == "running":
                jobs.running += 1
        return jobs

    def measure(self, board_ads: int, posted_ad_ids: list[str], webhook: int) -> Snapshot:
        mine = {"terms": {"profile_id": self.profile_ids}}
        errors = []
        try:
            jobs = self.jobs()
            ads = self._count(self.indices.ads, mine)
            entities = self._count(self.indices.entities, {"terms": {"sites": self.profile_ids}})
            new = self._count(self.indices.ads, {"terms": {"ad_id": posted_ad_ids}}) if posted_ad_ids else 0
        except Exception as exc:  # noqa: BLE001 - shown on the panel; the next measure retries
            errors.append(f"Elasticsearch: {type(exc).__name__}: {exc}"[:200])
            jobs, ads, entities, new = Jobs(), 0, 0, 0
        try:
            lag = self.groups.lag()
        except Exception as exc:  # noqa: BLE001 - shown on the panel; the next measure retries
            errors.append(f"Kafka: {type(exc).__name__}: {exc}"[:200])
            lag = {}
        return Snapshot(
            time.time(), board_ads, jobs, ads, entities, new, self.inbox.lines(), webhook, lag, errors
        )


def panel(snapshot: Snapshot, phase: str, elapsed: float, board_url: str, recent: int = 6) -> Panel:
    numbers = Table.grid(padding=(0, 3))
    numbers.add_column(style="bold")
    numbers.add_column(justify="right")
    numbers.add_column(style="bold")
    numbers.add_column(justify="right")
    lag = snapshot.lag
    numbers.add_row(
        "ads on the board", str(snapshot.board_ads), "crawl jobs finished", str(snapshot.jobs.finished)
    )
    numbers.add_row("pages crawled", str(snapshot.jobs.pages), "crawls running", str(snapshot.jobs.running))
    numbers.add_row("ads indexed", str(snapshot.ads), "entities", str(snapshot.entities))
    numbers.add_row(
        "new ads indexed", str(snapshot.new_ads_indexed), "alerts (inbox)", str(len(snapshot.alerts))
    )
    numbers.add_row(
        "webhook deliveries",
        str(snapshot.webhook),
        "alerts by rule",
        ", ".join(f"{r} {n}" for r, n in sorted(snapshot.alerts_by_rule.items())) or "-",
    )
    numbers.add_row(
        "consumer lag",
        " / ".join(f"{role} {lag[role]}" for role in ("crawl", "enrich", "alerts") if role in lag) or "-",
        "baselines done",
        str(len(snapshot.jobs.baseline_done)),
    )
    parts: list[Any] = [Text(f"{phase}  ({elapsed:.0f}s)", style="cyan"), numbers]
    if snapshot.alerts:
        latest = Table(
            "rule", "ad", "title", box=None, padding=(0, 1), title="latest alerts", title_justify="left"
        )
        for alert in snapshot.alerts[-recent:]:
            latest.add_row(alert.rule_id, Text(alert.url), Text(alert.title.removeprefix("[Vigil] ")[:60]))
        parts.append(latest)
    for problem in snapshot.errors + snapshot.jobs.failures[-3:]:
        parts.append(Text(problem, style="red"))
    return Panel(Group(*parts), title=f"vigil demo — board {board_url}", border_style="blue")
