"""``vigil demo``: the whole system on a local ad board, from an empty stack to alerts, in minutes.

The run, in order: the board and a webhook receiver start (first, so a busy port fails at once);
the local stack comes up and is initialised with the configured names, so ``vigil search``,
``entity`` and ``report`` explore the result afterwards; the previous demo's documents are
forgotten; profiles and alert rules are written into the demo folder; the scheduler and the
crawl, enrich and alerts workers start as processes, exactly as in production, on fresh consumer
groups. Once the baseline crawl has landed, a few new ads are posted and their alerts awaited.
Everything the demo started is stopped when it ends, on Ctrl-C included; what a killed demo left
running is stopped by the next one.

The demo folder (``<state dir>/demo`` unless ``--dir``) holds the profiles, alerts.yaml, the
inbox, the demo's own scheduler database (demo watches never reach the real scheduler's) and the
processes' logs.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape

from vigil.app.demo import alert_rules, profiles
from vigil.app.demo.arrivals import ARRIVALS, Arrival
from vigil.app.demo.board import SAMPLE_SECTION, BoardAd, BoardError, DemoBoard
from vigil.app.demo.consumer_groups import ConsumerGroups, Group
from vigil.app.demo.processes import Supervisor, kill_run
from vigil.app.demo.progress import Inbox, Progress, Snapshot, panel
from vigil.app.demo.receiver import WebhookReceiver
from vigil.app.demo.reset import forget_previous_run
from vigil.app.demo.summary import explore_commands, findings, render
from vigil.core.config import Settings

DEFAULT_PORT = 8780
DEFAULT_TIMEOUT = 300.0
POLL_SECONDS = 1.0
PLAIN_STATUS_EVERY = 15.0


class DemoError(Exception):
    """The demo cannot go on: the message names the cause and where to look."""


@dataclass
class DemoOptions:
    once: bool = False
    port: int = DEFAULT_PORT
    directory: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    config_path: Path | None = None
    watch_every: str = profiles.WATCH_EVERY


@dataclass
class Posted:
    arrival: Arrival
    ad: BoardAd
    url: str

    def missing(self, snapshot: Snapshot) -> list[str]:
        fired = {a.rule_id for a in snapshot.alerts if a.url == self.url}
        return [rule for rule in self.arrival.rules if rule not in fired]


class DemoRun:
    def __init__(self, settings: Settings, options: DemoOptions, console: Console):
        self.settings = settings
        self.options = options
        self.console = console
        self.directory = (options.directory or settings.state_dir / "demo").resolve()
        self.run_id = uuid.uuid4().hex[:10]
        self.started = time.monotonic()
        self.deadline = float("inf")
        self.posted: list[Posted] = []

    def say(self, message: str) -> None:
        self.console.print(f"[bold blue]demo[/bold blue] {message}", highlight=False, soft_wrap=True)

    def run(self) -> None:
        with ExitStack() as stack:
            self._claim_directory()
            self.board = self._open_board()
            self.profile_ids = [s.profile_id for s in self.board.sections]
            stack.callback(self._stop_servers)
            self._start_servers()
            self._prepare_stack()
            self.deadline = time.monotonic() + self.options.timeout
            stack.callback(self.es.close)
            self._forget_previous_run()
            self._write_files()
            self.groups = self._consumer_groups()
            stack.callback(self._drop_groups)
            self.supervisor = self._supervisor()
            stack.callback(self._stop_processes)
            self._start_processes()
            self.progress = Progress(
                self.es, self.settings.es.indices, self.profile_ids, self.groups, self.inbox
            )
            self._watch("waiting for the baseline crawl of every section", self._baseline_landed)
            self._post_arrivals()
            posted_at = time.monotonic()
            self._watch("new ads posted; waiting for their alerts", self._alerts_arrived)
            self.say(
                f"the new ads' alerts arrived {time.monotonic() - posted_at:.0f} s after posting "
                f"(the board is re-crawled every {self.options.watch_every})"
            )
            self.es.indices.refresh(
                index=f"{self.settings.es.indices.ads},{self.settings.es.indices.entities}"
            )
            self._summarise(self._measure())
            if not self.options.once:
                self.deadline = float("inf")
                self.say(
                    "still watching (Ctrl-C stops everything). Post an ad and watch its alert arrive:\n"
                    f"  curl -X POST {self.board.url}nl/ads -H 'Content-Type: application/json' "
                    '-d \'{"title": "Nieuw in Utrecht", "text": "Bel 0612345678"}\''
                )
                self._watch("watching the board", lambda s: False)

    def _prepare_stack(self) -> None:
        from vigil.app.stack import StackError, ensure_up
        from vigil.core.elastic import client, install_templates
        from vigil.core.kafka import ensure_topics

        self.say("starting the local stack (Kafka, Elasticsearch) if it is not running")
        try:
            outcome = ensure_up(
                self.settings, report=lambda service, message: self.say(f"{service}: {message}")
            )
        except StackError as exc:
            raise DemoError(f"the local stack did not come up: {exc}") from None
        self.say("stack: " + ", ".join(f"{name} {state}" for name, state in outcome.items()))
        try:
            ensure_topics(self.settings.kafka)
            install_templates(self.settings.es)
        except Exception as exc:  # noqa: BLE001 - named; the demo cannot run without topics and aliases
            raise DemoError(
                f"creating topics and index templates failed: {type(exc).__name__}: {exc}"
            ) from None
        self.es = client(self.settings.es)

    def _forget_previous_run(self) -> None:
        ids = sorted({*self.profile_ids, f"demo-{SAMPLE_SECTION}"})
        try:
            removed = forget_previous_run(self.es, self.settings.es.indices, ids)
        except Exception as exc:  # noqa: BLE001 - named; stale demo data would make the run misleading
            raise DemoError(
                f"clearing the previous demo's documents failed: {type(exc).__name__}: {exc}"
            ) from None
        if any(removed.values()):
            self.say(
                "forgot the previous demo run: " + ", ".join(f"{n} from {a}" for a, n in removed.items() if n)
            )

    def _open_board(self) -> DemoBoard:
        try:
            return DemoBoard(self.options.port)
        except BoardError as exc:
            raise DemoError(str(exc)) from None

    def _start_servers(self) -> None:
        try:
            self.board.start()
        except BoardError as exc:
            raise DemoError(str(exc)) from None
        self.receiver = WebhookReceiver().start()
        sample = (
            f"{self.board.sample_count} real ads from {self.board.sample_path} (section /{SAMPLE_SECTION}/)"
            if self.board.sample_count
            else f"no real ads: {self.board.sample_path} is absent, so the board has generated ads only"
        )
        self.say(f"board on {self.board.url} with {len(self.board.ads())} ads; {sample}")
        self.say(f"webhook receiver on {self.receiver.apprise_url}")

    def _stop_servers(self) -> None:
        self.board.stop()
        receiver = getattr(self, "receiver", None)
        if receiver is not None:
            receiver.stop()

    def _claim_directory(self) -> None:
        """Record this run in the demo folder, first stopping what a killed earlier run left running."""
        self.directory.mkdir(parents=True, exist_ok=True)
        marker = self.directory / "run-id"
        if marker.is_file():
            leftovers = kill_run(marker.read_text().strip())
            if leftovers:
                self.say(f"stopped {len(leftovers)} processes left running by an interrupted demo")
        marker.write_text(self.run_id + "\n")

    def _write_files(self) -> None:
        self.profiles_dir = self.directory / "profiles"
        profiles.write_profiles(self.board, self.profiles_dir, self.options.watch_every)
        self.rules_path = alert_rules.write_rules(
            self.directory / "alerts.yaml", self.profile_ids, self.receiver.apprise_url
        )
        self.inbox_path = self.directory / "inbox.jsonl"
        self.inbox_path.write_text("")
        self.inbox = Inbox(self.inbox_path)
        self.scheduler_db = self.directory / "scheduler.sqlite"
        self.scheduler_db.unlink(missing_ok=True)
        self.say(
            f"profiles in {self.profiles_dir} (watched every {self.options.watch_every}); rules in {self.rules_path}"
        )

    def _consumer_groups(self) -> ConsumerGroups:
        topics = self.settings.kafka.topics
        groups = [
            Group("crawl", f"vigil-demo-{self.run_id}-crawl", topics.crawl_jobs),
            Group("enrich", f"vigil-demo-{self.run_id}-enrich", topics.pages_raw),
            Group("alerts", f"vigil-demo-{self.run_id}-alerts", topics.ad_events),
        ]
        try:
            placed = ConsumerGroups(self.settings.kafka, groups)
            placed.start_at_end()
        except Exception as exc:  # noqa: BLE001 - named; workers must not replay older records
            raise DemoError(
                f"preparing the demo's consumer groups failed: {type(exc).__name__}: {exc}"
            ) from None
        self.group_ids = {g.role: g.group_id for g in groups}
        return placed

    def _drop_groups(self) -> None:
        self.groups.delete()
        self.groups.close()

    def _supervisor(self) -> Supervisor:
        command = [sys.executable, "-c", "from vigil.app.cli import main; main()"]
        if self.options.config_path:
            command += ["--config", str(self.options.config_path.resolve())]
        env = {
            **os.environ,
            "VIGIL_HOME": str(self.settings.state_dir),
            "VIGIL_PROFILES_DIR": str(self.profiles_dir),
            "VIGIL_METRICS_PORT": "0",
            "VIGIL_SCHEDULER_JOBSTORE_URL": f"sqlite:///{self.scheduler_db}",
            "VIGIL_SCHEDULER_SYNC_SECONDS": "1",
            "VIGIL_SCHEDULER_LEASE_SECONDS": "4",
            "VIGIL_SCHEDULER_MAX_JITTER_SECONDS": "1",
            "VIGIL_SCHEDULER_BASELINE_FIRST_RUN": "true",
            "VIGIL_SCHEDULER_INCREMENTAL": "true",
            "VIGIL_JOBS_GROUP_ID": self.group_ids["crawl"],
            "VIGIL_JOBS_SLOTS": str(len(self.profile_ids)),
            "VIGIL_JOBS_BACKOFF_SECONDS": "2",
            "VIGIL_JOBS_TIMEOUT_SECONDS": "180",
            "VIGIL_ALERTS_GROUP_ID": self.group_ids["alerts"],
            "VIGIL_ALERTS_INBOX": str(self.inbox_path),
            "VIGIL_ALERTS_BACKOFF_SECONDS": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        return Supervisor(command, env, self.directory / "logs", self.run_id)

    def _start_processes(self) -> None:
        s = self.supervisor
        s.start("enrich", "worker", "enrich", "--group", self.group_ids["enrich"])
        s.start("alerts", "worker", "alerts", "--rules", str(self.rules_path))
        s.start("crawl", "worker", "crawl")
        s.start("scheduler", "scheduler")
        self.say(
            "started: "
            + ", ".join(f"{m.name} (pid {m.process.pid})" for m in s.managed)
            + f"; logs in {s.log_dir}"
        )

    def _stop_processes(self) -> None:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.say("stopping the scheduler and the workers")
            killed = self.supervisor.stop()
            if killed:
                self.say(f"[yellow]had to kill: {', '.join(killed)}[/yellow]")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _measure(self) -> Snapshot:
        posted_ids = [p.ad.ad_id for p in self.posted]
        return self.progress.measure(len(self.board.ads()), posted_ids, len(self.receiver.received()))

    def _watch(self, phase: str, done: Callable[[Snapshot], bool]) -> Snapshot:
        """Redraw the panel until ``done``; DemoError when a process dies or time runs out."""
        self.say(phase)
        live = (
            Live(console=self.console, refresh_per_second=4, transient=True)
            if self.console.is_terminal
            else None
        )
        last_plain = 0.0
        with live or ExitStack():
            while True:
                self._check_processes()
                snapshot = self._measure()
                elapsed = time.monotonic() - self.started
                if live is not None:
                    live.update(panel(snapshot, phase, elapsed, self.board.url))
                elif time.monotonic() - last_plain >= PLAIN_STATUS_EVERY:
                    last_plain = time.monotonic()
                    self.say(_plain_status(snapshot, elapsed))
                if done(snapshot):
                    return snapshot
                if time.monotonic() > self.deadline:
                    raise DemoError(
                        f"timed out after {self.options.timeout:.0f} s while {phase}: {self._missing(snapshot)}; "
                        f"see the logs in {self.supervisor.log_dir}"
                    )
                time.sleep(POLL_SECONDS)

    def _check_processes(self) -> None:
        for managed in self.supervisor.exited():
            raise DemoError(
                f"`vigil {managed.name}` exited with code {managed.process.returncode}; "
                f"end of {managed.log_path}:\n{self.supervisor.tail(managed)}"
            )

    def _baseline_landed(self, snapshot: Snapshot) -> bool:
        if snapshot.jobs.failures:
            raise DemoError(
                f"a crawl job failed: {snapshot.jobs.failures[0]}; see {self.supervisor.log_dir}/crawl.log"
            )
        return snapshot.jobs.baseline_done >= set(self.profile_ids) and snapshot.lag.get("enrich") == 0

    def _post_arrivals(self) -> None:
        for arrival in ARRIVALS:
            ad = self.board.post(arrival.section, arrival.title, arrival.text, arrival.city)
            self.posted.append(Posted(arrival, ad, self.board.ad_url(ad)))
            self.say(
                f'posted {self.board.ad_url(ad)}  "{escape(ad.title)}" (expecting: {", ".join(arrival.rules)})'
            )

    def _alerts_arrived(self, snapshot: Snapshot) -> bool:
        return all(not p.missing(snapshot) for p in self.posted)

    def _missing(self, snapshot: Snapshot) -> str:
        if not self.posted:
            waiting = sorted(set(self.profile_ids) - snapshot.jobs.baseline_done)
            return (
                f"baseline crawls not finished for {', '.join(waiting) or '-'}; "
                f"enrich lag {snapshot.lag.get('enrich', '?')}"
            )
        missing = [
            f"{p.ad.ad_id} ({', '.join(p.missing(snapshot))})" for p in self.posted if p.missing(snapshot)
        ]
        return "alerts not yet in the inbox for " + "; ".join(missing)

    def _summarise(self, snapshot: Snapshot) -> None:
        seconds = time.monotonic() - self.started
        for posted in self.posted:
            for alert in (a for a in snapshot.alerts if a.url == posted.url):
                self.say(
                    f"alert [bold]{alert.rule_id}[/bold] for {posted.url}: {escape('; '.join(alert.evidence))}"
                )
        found = findings(self.es, self.settings.es.indices)
        commands = explore_commands(found, self.options.config_path, self.directory / "report.html")
        render(self.console, snapshot, found, seconds, self.inbox_path, commands)


def _plain_status(snapshot: Snapshot, elapsed: float) -> str:
    lag = ", ".join(f"{role} {n}" for role, n in snapshot.lag.items()) or "-"
    return (
        f"{elapsed:.0f}s: {snapshot.jobs.finished} crawl jobs finished ({snapshot.jobs.pages} pages), "
        f"{snapshot.ads} ads indexed, {len(snapshot.alerts)} alerts, lag {lag}"
    )


def run(settings: Settings, options: DemoOptions, console: Console) -> None:
    """Run the demo; raises DemoError with the cause, KeyboardInterrupt on Ctrl-C (after cleaning up)."""
    DemoRun(settings, options, console).run()
