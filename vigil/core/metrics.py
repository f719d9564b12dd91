"""Every Prometheus metric Vigil exports, in one place, so dashboards can rely on the names.

Each role calls ``serve(port)`` once (``metrics_port`` in configuration; 0 disables it).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

PAGES_FETCHED = Counter("vigil_pages_fetched_total", "Pages fetched by crawlers", ["profile", "network"])
RECORDS_PUBLISHED = Counter("vigil_records_published_total", "Records delivered to Kafka", ["topic"])
PUBLISH_ERRORS = Counter("vigil_publish_errors_total", "Records Kafka did not accept", ["cause"])
CRAWL_ERRORS = Counter("vigil_crawl_errors_total", "Crawl errors by cause", ["profile", "cause"])

ENRICH_RECORDS = Counter("vigil_enrich_records_total", "Raw pages processed by enrichment", ["outcome"])
ENRICH_ERRORS = Counter("vigil_enrich_errors_total", "Enrichment errors by cause", ["cause"])
CONSUMER_FAILURES = Counter(
    "vigil_consumer_failures_total", "Consumer loop failures by kind (retriable, permanent, commit, stall)", ["consumer", "kind"]
)
DEAD_LETTERS = Counter("vigil_dead_letters_total", "Records sent to the dead-letter topic", ["stage"])
BULK_LATENCY = Histogram("vigil_bulk_latency_seconds", "Elasticsearch bulk request latency")
CONSUMER_LAG = Gauge("vigil_consumer_lag", "Records behind the end of the topic", ["group", "topic"])
ES_STATUS = Gauge(
    "vigil_elasticsearch_status", "Cluster health as the enrich workers see it: 0 green, 1 yellow, 2 red, 3 unreachable"
)
LIMITS_HIT = Counter(
    "vigil_limits_hit_total", "Bounds applied to oversized or hostile input (see docs/operations.md)", ["limit"]
)
EVENTS_PUBLISHED = Counter("vigil_ad_events_total", "Ad events published", ["event_type"])

IMAGE_ADS = Counter("vigil_image_ads_total", "Ad events seen by the image worker", ["outcome"])
IMAGES = Counter("vigil_images_total", "Images analysed by the image worker", ["outcome"])
IMAGE_ERRORS = Counter("vigil_image_errors_total", "Images not analysed, by cause", ["cause"])
IMAGE_SECONDS = Histogram("vigil_image_seconds", "Fetch and analysis time per image")

JOBS = Counter("vigil_jobs_total", "Crawl jobs by final state", ["state"])
SCHEDULER_RUNS = Counter("vigil_scheduler_runs_total", "Crawl jobs published by the scheduler", ["profile"])
ALERTS_SENT = Counter("vigil_alerts_sent_total", "Alerts delivered", ["subscriber", "rule"])
ALERTS_FAILED = Counter("vigil_alerts_failed_total", "Alert deliveries that failed for good", ["subscriber"])

TOR_CIRCUITS = Gauge("vigil_tor_circuits", "Built circuits per tor instance", ["instance"])
TOR_BOOTSTRAP = Gauge("vigil_tor_bootstrap_percent", "Bootstrap progress per tor instance", ["instance"])
TOR_NEWNYM = Counter("vigil_tor_newnym_total", "NEWNYM signals sent", ["profile"])
TOR_FAILURES = Counter("vigil_tor_failures_total", "Failed fetches over Tor", ["profile"])


def counter_snapshot() -> list[tuple[str, dict[str, str], float]]:
    """This process's Vigil counters as (metric, labels, value): a crawl's child process sends them
    to the crawl worker, which serves /metrics (``add_counts``)."""
    counters = {c._name: c for c in globals().values() if isinstance(c, Counter)}
    snapshot = []
    for name, counter in counters.items():
        for metric in counter.collect():
            for sample in metric.samples:
                if sample.name == f"{name}_total" and sample.value:
                    snapshot.append((name, dict(sample.labels), sample.value))
    return snapshot


def add_counts(snapshot: list[tuple[str, dict[str, str], float]]) -> None:
    """Add another process's counter snapshot to this process's counters."""
    counters = {c._name: c for c in globals().values() if isinstance(c, Counter)}
    for name, labels, value in snapshot:
        counter = counters.get(name)
        if counter is not None and value > 0:
            (counter.labels(**labels) if labels else counter).inc(value)


def serve(port: int) -> None:
    """Expose /metrics on 0.0.0.0:port (no-op for port 0)."""
    if port:
        start_http_server(port)
