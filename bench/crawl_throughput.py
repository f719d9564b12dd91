"""Crawl throughput with Kafka publishing vs the same crawl with publishing disabled.

A local corpus (100 listing pages x 50 ads = 5,100 pages) is served by a separate process; the
same profile is crawled by `vigil crawl --json` twice per round, once with `--no-publish`
(VIGIL_PUBLISH_ENABLED = False) and once publishing to a benchmark topic on the running broker.
Prints pages/s of both and their ratio (target >= 0.9). Needs `vigil stack up`.

    .venv/bin/python bench/crawl_throughput.py [--listings 100] [--per-listing 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
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


def crawl(profile: Path, env: dict[str, str], publish: bool) -> dict:
    args = [VIGIL, "crawl", str(profile), "--json", *([] if publish else ["--no-publish"])]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, cwd=REPO)
    if result.returncode != 0 or not result.stdout.strip():
        sys.exit(f"crawl failed (exit {result.returncode}): {result.stdout[-500:]} {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100)
    parser.add_argument("--per-listing", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="best of N rounds per mode (shared machines are noisy)")
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
            config.write_text(yaml.safe_dump({"kafka": {"topics": topics}, "log_level": "WARNING"}))
            ensure_topics(load_settings(config).kafka)
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
            for _ in range(args.rounds):
                for mode in ("off", "kafka"):
                    summary = crawl(profile, env, publish=mode == "kafka")
                    if summary["pages"] != total:
                        sys.exit(f"expected {total} pages, crawled {summary['pages']}: {summary['errors']}")
                    if mode == "kafka" and summary["published"] != total:
                        sys.exit(f"published {summary['published']} of {total} records")
                    rate = summary["pages"] / summary["seconds"]
                    rates[mode].append(rate)
                    print(f"  {mode:>5}: {summary['pages']} pages in {summary['seconds']:.1f}s = {rate:.0f} pages/s")
    finally:
        server.terminate()
        server.wait(timeout=10)
    off = max(rates["off"])
    kafka = max(rates["kafka"])
    ratio = kafka / off
    print(f"corpus {total} pages; publishing disabled {off:.0f} pages/s; with Kafka {kafka:.0f} pages/s")
    report("crawl->Kafka / publishing off", ratio, TARGET_RATIO, "x")


if __name__ == "__main__":
    main()
