"""Alert latency on the real stack: a new ad posted on a watched site -> its alert on a webhook.

Runs the scheduler, crawl, enrich and alerts workers as processes on their own topics and
indices (deleted afterwards), watches the fixture board every INTERVAL seconds, posts ADS new
ads at random moments and prints p50/p95 of (alert received - ad posted) and of
(alert received - start of the run that found the ad). Bounded: gives up after DEADLINE seconds.

    python bench/alert_latency.py [--ads 20] [--interval 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixture_site import FixtureSite  # noqa: E402
from vigil.core.config import load_settings  # noqa: E402

DEADLINE = 600.0


def ad_keys(message: str) -> list[str]:
    """The ad keys an alert's body names (its ``Ad:`` lines, at every content level)."""
    return [line[4:].strip() for line in message.splitlines() if line.startswith("Ad: ")]


class Hook:
    """Receives Apprise json:// posts; remembers when each ad (its ``Ad:`` key) first arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["message"]
                for key in ad_keys(body):
                    hook.arrived.setdefault(key, time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=20)
    parser.add_argument("--interval", type=float, default=3.0)
    args = parser.parse_args()

    from vigil.core.elastic import client, install_templates
    from vigil.core.kafka import admin, ensure_topics

    started = time.monotonic()
    uid = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    base = load_settings()
    hook = Hook()
    rules = {
        "rules": [{"id": "new-on-board", "when": {"new_ad": True, "profiles": ["board"]}}],
        "subscribers": [
            {"id": "bench", "urls": [f"json://127.0.0.1:{hook.port}/hook"], "rules": ["new-on-board"]}
        ],
    }
    (work / "alerts.yaml").write_text(yaml.safe_dump(rules))
    (work / "profiles").mkdir()
    config = {
        "home": str(base.state_dir),
        "profiles_dir": str(work / "profiles"),
        "alerts_rules": str(work / "alerts.yaml"),
        "kafka": {"topics": {k: f"bench.{uid}.{k}" for k in base.kafka.topics.model_dump()}},
        "es": {"indices": {k: f"bench-{uid}-{k}" for k in base.es.indices.model_dump()}},
        "scheduler": {"jobstore_url": f"sqlite:///{work / 'scheduler.sqlite'}", "max_jitter_seconds": 0.3},
        "jobs": {"group_id": f"bench-{uid}-crawl"},
        "alerts": {"group_id": f"bench-{uid}-alerts"},
    }
    config_path = work / "vigil.yaml"
    config_path.write_text(yaml.safe_dump(config))
    settings = load_settings(config_path)
    ensure_topics(settings.kafka)
    install_templates(settings.es)
    env = {**os.environ, "VIGIL_CONFIG": str(config_path)}
    vigil = [sys.executable, "-c", "from vigil.app.cli import main; main()"]
    processes: list[subprocess.Popen] = []
    site = FixtureSite(real_ads=False).start()
    try:
        profile = {
            "id": "board",
            "start_urls": [f"{site.url}category/escorts"],
            "allowed_domains": ["127.0.0.1"],
            "country": "GB",
            "follow": [{"css": "a.next"}],
            "ads": {"url_regex": r"/ad/\d+$", "id_regex": r"/ad/(\d+)$", "fields": {"title": {"css": "h1"}}},
            "allow_private_network": True,
            "politeness": {"download_delay": 0, "obey_robots": False, "autothrottle": False},
        }
        (work / "profiles" / "board.yaml").write_text(yaml.safe_dump(profile))
        subprocess.run(
            [*vigil, "watch", "add", "board", "--every", f"{args.interval:g}s"], env=env, check=True
        )
        for role in (
            ["worker", "enrich", "--group", f"bench-{uid}-enrich"],
            ["worker", "alerts"],
            ["worker", "crawl"],
            ["scheduler"],
        ):
            log = (work / f"{role[-1]}.log").open("ab")
            processes.append(
                subprocess.Popen(
                    [*vigil, *role], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )

        es = client(settings.es)

        def baseline_done() -> bool:
            es.indices.refresh(index=settings.es.indices.jobs)
            query = {"bool": {"filter": [{"term": {"baseline": True}}, {"term": {"state": "finished"}}]}}
            return es.count(index=settings.es.indices.jobs, query=query)["count"] > 0

        while not baseline_done():
            if time.monotonic() - started > 120:
                print(f"error: the baseline crawl did not finish in 120 s; logs in {work}", file=sys.stderr)
                return 1
            time.sleep(0.5)

        posted: dict[str, float] = {}
        for n in range(args.ads):
            ad = site.add_ad(
                title=f"Bench ad {n}",
                body="Just arrived in town for a few days only. Friendly and discreet, incall and outcall, "
                "call me or send a message any time.",
            )
            posted[f"board:{ad['id']}"] = time.time()
            time.sleep(random.uniform(0.5, 1.5) * args.interval * 0.6)
        while len(hook.arrived.keys() & posted.keys()) < len(posted):
            if (
                time.monotonic() - started > DEADLINE
                or time.time() - max(posted.values()) > args.interval + 60
            ):
                break
            time.sleep(0.2)

        received = {key: hook.arrived[key] for key in posted if key in hook.arrived}
        from_post = [received[key] - posted[key] for key in received]
        es.indices.refresh(index=settings.es.indices.alerts)
        alerts = es.search(index=settings.es.indices.alerts, size=1000, query={"match_all": {}})["hits"][
            "hits"
        ]
        job_ids = {a["_source"]["ad_key"]: a["_source"]["job_id"] for a in alerts}
        jobs = {
            doc["_id"]: doc["_source"]
            for doc in es.mget(index=settings.es.indices.jobs, ids=sorted(set(job_ids.values())))["docs"]
            if doc.get("found")
        }

        def since(field: str) -> list[float]:
            return [
                received[key] - datetime.fromisoformat(jobs[job_ids[key]][field]).timestamp()
                for key in received
                if job_ids.get(key) in jobs and jobs[job_ids[key]].get(field)
            ]

        print(f"alert latency over {len(received)}/{len(posted)} new ads, watch every {args.interval:g}s:")
        series = (
            ("posted -> alert", from_post),
            ("run due -> alert", since("requested_at")),
            ("crawl start -> alert", since("started_at")),
        )
        for label, values in series:
            if values:
                print(
                    f"  {label:<20} p50 {statistics.median(values):6.2f}s  p95 {percentile(values, 0.95):6.2f}s"
                    f"  max {max(values):6.2f}s"
                )
        if len(received) < len(posted):
            print(
                f"error: {len(posted) - len(received)} ads raised no alert in time; logs in {work}",
                file=sys.stderr,
            )
            return 1
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        site.stop()
        hook.server.shutdown()
        es = client(settings.es)
        names = list(es.indices.get(index=f"bench-{uid}-*", expand_wildcards="all"))
        if names:
            es.indices.delete(index=",".join(names), ignore_unavailable=True)
        for alias in settings.es.indices.model_dump().values():
            if es.indices.exists_index_template(name=alias):
                es.indices.delete_index_template(name=alias)
        kafka_admin = admin(settings.kafka)
        try:
            kafka_admin.delete_topics([t for t in kafka_admin.list_topics() if t.startswith(f"bench.{uid}.")])
        finally:
            kafka_admin.close()


if __name__ == "__main__":
    sys.exit(main())
