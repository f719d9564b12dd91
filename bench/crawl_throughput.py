"""Crawl throughput with Kafka publishing vs the same crawl with publishing disabled.

A local corpus (100 listing pages x 50 ads = 5,100 pages) is served by a separate process; the
same profile is crawled by `vigil crawl --json` twice per round, once with `--no-publish`
(VIGIL_PUBLISH_ENABLED = False) and once publishing to a benchmark topic on the running broker.
A crawl that publishes nothing captures no evidence, so WARC capture is off in the publishing arm
too by default (`--capture on` adds its cost to that arm only, and says so). Prints pages/s of both, each round's ratio and the
best-of-rounds ratio against the target (>= 0.9), and the CPU per page of the crawl and of the
broker: on a shared 2-core machine the wall-clock ratio moves with everyone else's load, the CPU
cost does not. Up to five rounds (each arm's best rate is the one least disturbed by other work);
no round starts once another one would end past ``--budget`` seconds, and at least three run.
Needs `vigil stack up`.

    .venv/bin/python bench/crawl_throughput.py [--listings 100] [--per-listing 50] [--rounds 5]
        [--budget 170] [--capture on|off]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from enrich_scaling import cpu_seconds
from targets import report

REPO = Path(__file__).resolve().parents[1]
VIGIL = str(Path(sys.executable).parent / "vigil")
TARGET_RATIO = 0.9


def serve(port: int, listings: int, per_listing: int) -> None:
    """The corpus server (runs in its own process so it does not share the crawler's GIL)."""
    filler = "<p>" + "Discreet companion, new in town, call now. " * 20 + "</p>"

    class Corpus(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's name
            path = self.path
            if path == "/":
                body = "".join(f'<a class="list" href="/list/{n}">list {n}</a>' for n in range(listings))
            elif path.startswith("/list/"):
                n = int(path[6:])
                body = "".join(
                    f'<a href="/ad/{n * per_listing + k}">ad {n * per_listing + k}</a>' for k in range(per_listing)
                )
            elif path.startswith("/ad/"):
                body = f"<h1>Ad {path[4:]}</h1><div class='description'>{filler}</div>"
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = f"<!DOCTYPE html><html><head><title>bench</title></head><body>{body}</body></html>".encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(data)}\r\n\r\n"
            self.wfile.write(head.encode() + data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Corpus)
    server.daemon_threads = True
    server.serve_forever()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def crawl(profile: Path, env: dict[str, str], publish: bool, broker: int | None) -> dict:
    """One crawl's summary, with the CPU-seconds the crawl (and the broker, when its pid is known)
    spent on it: on a shared machine the wall-clock rates move with everyone else's load."""
    args = [VIGIL, "crawl", str(profile), "--json", *([] if publish else ["--no-publish"])]
    cpu, broker_cpu = children_cpu(), cpu_seconds(broker) if broker else 0.0
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, cwd=REPO)
    if result.returncode != 0 or not result.stdout.strip():
        sys.exit(f"crawl failed (exit {result.returncode}): {result.stdout[-500:]} {result.stderr[-2000:]}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    summary["cpu"] = children_cpu() - cpu
    summary["broker_cpu"] = cpu_seconds(broker) - broker_cpu if broker else None
    return summary


def broker_pid(settings) -> int | None:
    """The local stack's Kafka broker, to count its CPU too (None on another machine's broker)."""
    from vigil.app.stack.paths import pid_file

    try:
        pid = int(pid_file(settings, "kafka").read_text().strip())
        cpu_seconds(pid)
        return pid
    except (OSError, ValueError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100)
    parser.add_argument("--per-listing", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of (off, kafka); each round's ratio is printed")
    parser.add_argument("--budget", type=float, default=170,
                        help="seconds: no round starts that would end later (the longest so far as its length); "
                             "three rounds run regardless")
    parser.add_argument("--capture", choices=["on", "off"], default="off",
                        help="evidence.capture of the publishing arm (the other never captures)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.listings, args.per_listing)
        return

    from vigil.core.config import load_settings
    from vigil.core.kafka import ensure_topics

    port = free_port()
    total = args.listings * (args.per_listing + 1) + 1
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--listings", str(args.listings),
         "--per-listing", str(args.per_listing)]
    )
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
            tmp_path = Path(tmp)
            base = load_settings()
            topics = {**base.kafka.topics.model_dump(), "pages_raw": "bench.pages.raw"}
            config = tmp_path / "vigil.yaml"
            overrides: dict = {"kafka": {"topics": topics}, "log_level": "WARNING"}
            overrides["evidence"] = {"capture": args.capture == "on"}
            config.write_text(yaml.safe_dump(overrides))
            bench_settings = load_settings(config)
            ensure_topics(bench_settings.kafka)
            broker = broker_pid(bench_settings)
            arms = "publishing arm only" if bench_settings.evidence.capture else "neither arm"
            print(f"WARC capture in {arms}; "
                  f"broker CPU {'counted' if broker else 'not visible (not the local stack)'}")
            profile = tmp_path / "bench-corpus.yaml"
            profile.write_text(yaml.safe_dump({
                "id": "bench-corpus",
                "start_urls": [f"http://127.0.0.1:{port}/"],
                "follow": [{"css": "a.list"}],
                "ads": {"url_regex": r"/ad/\d+$", "id_regex": r"/ad/(\d+)$", "fields": {"title": {"css": "h1"}}},
                "allow_private_network": True,
                "limits": {"max_pages": total + 10, "max_depth": 3},
                "politeness": {"download_delay": 0, "concurrency": args.concurrency, "obey_robots": False,
                               "autothrottle": False},
            }))
            env = {**os.environ, "VIGIL_CONFIG": str(config)}
            time.sleep(0.5)
            rates: dict[str, list[float]] = {"off": [], "kafka": []}
            cpu: dict[str, list[float]] = {"off": [], "kafka": []}
            started = time.monotonic()
            longest = 0.0
            for n in range(args.rounds):
                if n >= 3 and time.monotonic() - started + longest > args.budget:
                    print(f"  (round {n + 1} of {args.rounds} not started: it would end past {args.budget:.0f} s)")
                    break
                round_started = time.monotonic()
                for mode in ("off", "kafka"):
                    summary = crawl(profile, env, publish=mode == "kafka", broker=broker)
                    if summary["pages"] != total:
                        sys.exit(f"expected {total} pages, crawled {summary['pages']}: {summary['errors']}")
                    if mode == "kafka" and summary["published"] != total:
                        sys.exit(f"published {summary['published']} of {total} records")
                    rate = summary["pages"] / summary["seconds"]
                    rates[mode].append(rate)
                    cpu[mode].append(summary["cpu"] * 1e6 / total)
                    broker_note = (
                        f", broker {summary['broker_cpu'] * 1e6 / total:.0f} us/page" if summary["broker_cpu"] else ""
                    )
                    print(f"  {mode:>5}: {summary['pages']} pages in {summary['seconds']:.1f}s = {rate:.0f} pages/s; "
                          f"crawl CPU {cpu[mode][-1]:.0f} us/page{broker_note}; load {os.getloadavg()[0]:.1f}")
                print(f"  round {n + 1}: ratio {rates['kafka'][-1] / rates['off'][-1]:.2f}")
                longest = max(longest, time.monotonic() - round_started)
    finally:
        server.terminate()
        server.wait(timeout=10)
    off = max(rates["off"])
    kafka = max(rates["kafka"])
    ratio = kafka / off
    rounds = [k / o for k, o in zip(rates["kafka"], rates["off"], strict=True)]
    print(f"corpus {total} pages; publishing disabled {off:.0f} pages/s; with Kafka {kafka:.0f} pages/s (best of "
          f"{len(rounds)}); round ratios {', '.join(f'{r:.2f}' for r in rounds)} (median {statistics.median(rounds):.2f}); "
          f"crawl CPU per page with Kafka / without {min(cpu['kafka']) / min(cpu['off']):.2f}")
    report("crawl->Kafka / publishing off", ratio, TARGET_RATIO, "x")


if __name__ == "__main__":
    main()
