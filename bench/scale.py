"""Growth: enrichment rate, query latency, index size and worker memory as the ads index grows.

The index is grown to each size in turn (default 10k, 50k and 200k synthetic ads) and measured
there: each ad names a phone and an e-mail drawn from pools a quarter of the ads' size (so an
entity is shared by a few ads, as on real sites), and random words of a fixed vocabulary. Most of
each step is loaded in this process through the Indexer (the enrich worker's writer: merge,
entities, conditional writes; its docs/s is printed as "fill"); the last ``--window`` ads of each
step go the whole way instead, as raw pages through Kafka to one long-running `vigil worker
enrich` (analysis included), whose records/s, and resident memory after the window, are the
figures at that size (with its records per CPU-second: on a shared machine the wall-clock rate
moves with everyone else's load). Then ``--queries`` searches (the code `vigil search` runs, on one or two
vocabulary words) and as many entity profiles (`vigil entity` on pool phones) give p50/p95 latency
(in process: no CLI start-up), and index stats give bytes per ad (ads index, and ads plus
entities). Targets (issue 18): enrich rate flat, latency sub-linear, RSS flat.

Run after `vigil stack up` and `vigil init` (`make bench-scale`; not part of `make bench`: the
200k step alone loads for many minutes on a 2-core machine). Topics ``bench.scale<uid>.*``,
indices ``bench-scale<uid>-*`` and the consumer group are deleted afterwards.

    .venv/bin/python bench/scale.py [--sizes 10000 50000 200000] [--window 1000] [--queries 50]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from enrich_scaling import VIGIL, Run, cleanup, committed, cpu_seconds, stable_members
from targets import report

from pipelines.indexer import Indexer, Observation
from vigil.core import kafka
from vigil.core.config import load_settings
from vigil.core.elastic import client, install_templates
from vigil.core.records import AdDocument, Entity, RawPage

BATCH = 200
WORDS = (
    "sweet young new town discreet companion relaxing massage appointment friendly staff outcall incall "
    "visiting weekend available tonight private upscale classy independent elite petite curvy blonde "
    "brunette exotic sensual genuine real photos satisfaction guaranteed generous gentlemen only serious "
    "calls texts welcome downtown hotel airport nearby parking clean safe quiet apartment spa studio "
    "therapy body deep tissue swedish hot stone reflexology couples special offer rates hour half "
    "overnight dinner date travel fly me to you anytime booking deposit required screening respect"
).split()
START = datetime(2026, 11, 1, tzinfo=UTC)


def phone(k: int) -> tuple[str, str]:
    """(E.164, as written in an ad) of pool phone ``k``."""
    number = 2_000_000 + k
    return f"+1702{number:07d}", f"(702) {number // 10000:03d}-{number % 10000:04d}"


def email(k: int) -> str:
    return f"model{k}@example.org"


def text_of(rng: random.Random, shown_phone: str, mail: str) -> str:
    words = rng.choices(WORDS, k=60)
    return f"{' '.join(words[:30])}. Call {shown_phone} or write {mail}. {' '.join(words[30:])}."


def synthetic_ad(n: int, rng: random.Random, pool: int) -> AdDocument:
    """An analysed ad as the worker would index it (entity spans included), without the analysis."""
    k = rng.randrange(pool)
    e164, shown = phone(k)
    mail = email(rng.randrange(pool))
    text = text_of(rng, shown, mail)
    title = " ".join(rng.choices(WORDS, k=6))
    at = START + timedelta(seconds=n)
    return AdDocument(
        ad_key=f"scale:{n}", profile_id="scale", url=f"http://scale.example/ad/{n}",
        canonical_url=f"http://scale.example/ad/{n}", ad_id=str(n), record_id=uuid.uuid4().hex,
        country="US", language="en", title=title, text=text, phones=[e164], emails=[mail],
        entities=[
            Entity(type="phone", value=e164, raw=shown, start=text.index(shown), end=text.index(shown) + len(shown)),
            Entity(type="email", value=mail, raw=mail, start=text.index(mail), end=text.index(mail) + len(mail)),
        ],
        risk=rng.randrange(100), content_hash=hashlib.sha256(text.encode()).hexdigest(),
        analyzer_version="synthetic", fetched_at=at,
    )  # fmt: skip


def raw_page(n: int, rng: random.Random, pool: int) -> RawPage:
    """The same kind of ad as a fetched page, for the worker to analyse."""
    _, shown = phone(rng.randrange(pool))
    title = " ".join(rng.choices(WORDS, k=6))
    html = (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<div class=body>{text_of(rng, shown, email(rng.randrange(pool)))}</div></body></html>"
    )
    url = f"http://scale.example/ad/{n}"
    return RawPage(
        profile_id="scale", job_id="scale", url=url, canonical_url=url, final_url=url, status=200,
        page_type="ad", ad_id=str(n), country="US", fields={"title": title}, body=html,
        body_sha256=hashlib.sha256(html.encode()).hexdigest(), body_bytes=len(html),
    )  # fmt: skip


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples), cuts[18]


def wait_until_consumed(reader, admin, run: Run, worker: subprocess.Popen, timeout: float) -> None:
    topic = run.settings.kafka.topics.pages_raw
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("the enrich worker exited; see its log")
        done, total = committed(reader, admin, run.group, topic)
        if done >= total:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the worker did not consume the window in {timeout:g} s")


def query_latencies(
    es, settings, rng: random.Random, pool: int, count: int
) -> tuple[list[float], list[float]]:
    from vigil.app.analyst.entity_profile import profile
    from vigil.app.analyst.query import SearchRequest, search

    alias = settings.es.indices.ads
    searches, entities = [], []
    for _ in range(count):
        words = " ".join(rng.sample(WORDS, rng.choice((1, 2))))
        started = time.perf_counter()
        search(es, alias, SearchRequest(text=words))
        searches.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        profile(es, alias, "phone", phone(rng.randrange(pool))[0], max_ads=25)
        entities.append((time.perf_counter() - started) * 1000)
    return searches, entities


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument(
        "--window", type=int, default=1000, help="ads per size that go through Kafka and the worker"
    )
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--window-timeout", type=float, default=900)
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    base = load_settings()
    uid = "scale" + uuid.uuid4().hex[:6]
    rng = random.Random(18)
    pool = max(1000, sizes[-1] // 4)
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="vigil-scale-") as tmp:
        scratch = Path(tmp)
        run = Run(base, uid, 1, scratch)
        settings = run.settings
        kafka.ensure_topics(settings.kafka)
        install_templates(settings.es)
        es = client(settings.es, request_timeout=120)
        reader = kafka.consumer(settings.kafka, None)
        admin = kafka.admin(settings.kafka)
        producer = kafka.producer(settings.kafka)
        log = open(scratch / "worker.log", "wb")  # noqa: SIM115 - closed in finally
        env = {**os.environ, "VIGIL_CONFIG": str(run.config)}
        worker = subprocess.Popen(
            [VIGIL, "worker", "enrich", "--group", run.group], env=env, stdout=log, stderr=log
        )
        try:
            reader.topics()
            deadline = time.monotonic() + 120
            while stable_members(admin, run.group) < 1:
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError(
                        f"the enrich worker did not join its group; log in {scratch}/worker.log"
                    )
                time.sleep(0.5)
            indexer = Indexer(es, settings.es.indices, settings.limits)
            print(f"sizes {sizes}, window {args.window} ads through the worker, entity pools {pool}; "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
            indexed = 0
            for size in sizes:
                fill = max(0, size - indexed - args.window)
                started = time.perf_counter()
                for first in range(indexed, indexed + fill, BATCH):
                    docs = [
                        synthetic_ad(n, rng, pool) for n in range(first, min(first + BATCH, indexed + fill))
                    ]
                    indexer.index([Observation(d) for d in docs])
                fill_rate = fill / (time.perf_counter() - started) if fill else 0.0
                indexed += fill

                started, cpu = time.perf_counter(), cpu_seconds(worker.pid)
                for n in range(indexed, indexed + args.window):
                    page = raw_page(n, rng, pool)
                    producer.send(
                        settings.kafka.topics.pages_raw,
                        key=page.canonical_url.encode(),
                        value=page.to_bytes(),
                    )
                producer.flush()
                wait_until_consumed(reader, admin, run, worker, args.window_timeout)
                enrich_rate = args.window / (time.perf_counter() - started)
                per_cpu = args.window / max(cpu_seconds(worker.pid) - cpu, 1e-3)
                indexed += args.window

                es.indices.refresh(index=f"{settings.es.indices.ads},{settings.es.indices.entities}")
                count = es.count(index=settings.es.indices.ads)["count"]
                searches, entities = query_latencies(es, settings, rng, pool, args.queries)
                stats = es.indices.stats(index=f"{settings.es.indices.ads},{settings.es.indices.entities}")
                ads_bytes = sum(
                    v["primaries"]["store"]["size_in_bytes"]
                    for k, v in stats["indices"].items()
                    if "-ads-" in k
                )
                all_bytes = stats["_all"]["primaries"]["store"]["size_in_bytes"]
                row = {
                    "size": count, "fill": fill_rate, "enrich": enrich_rate, "per_cpu": per_cpu, "search": percentiles(searches),
                    "entity": percentiles(entities), "ad_bytes": ads_bytes / count, "all_bytes": all_bytes / count,
                    "rss": rss_mb(worker.pid),
                }  # fmt: skip
                rows.append(row)
                print(
                    f"{count:>7} ads: fill {fill_rate:.0f} docs/s; worker {enrich_rate:.1f} records/s "
                    f"({per_cpu:.1f} per worker CPU-second); "
                    f"search p50/p95 {row['search'][0]:.0f}/{row['search'][1]:.0f} ms; entity p50/p95 "
                    f"{row['entity'][0]:.0f}/{row['entity'][1]:.0f} ms; {row['ad_bytes']:.0f} bytes/ad "
                    f"({row['all_bytes']:.0f} with entities); worker RSS {row['rss']:.0f} MB; "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            log.close()
            producer.close()
            es.close()
            cleanup([run], uid, admin)
            reader.close()
            admin.close()
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = last["size"] / first["size"]
        print(f"from {first['size']} to {last['size']} ads ({growth:.0f}x):")
        print(
            f"worker records/s (wall clock, moves with the machine's load): {first['enrich']:.1f} -> {last['enrich']:.1f}"
        )
        report(
            "enrich records per worker CPU-second, largest / smallest",
            last["per_cpu"] / first["per_cpu"],
            0.8,
            "x",
        )
        report(
            "search p95 growth / index growth",
            (last["search"][1] / first["search"][1]) / growth,
            1.0,
            "x",
            higher=False,
        )
        report(
            "entity p95 growth / index growth",
            (last["entity"][1] / first["entity"][1]) / growth,
            1.0,
            "x",
            higher=False,
        )
        report("worker RSS, largest / smallest", last["rss"] / first["rss"], 1.2, "x", higher=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
