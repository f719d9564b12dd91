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
DEAD_LETTERS = Counter("vigil_dead_letters_total", "Records sent to the dead-letter topic", ["stage"])
BULK_LATENCY = Histogram("vigil_bulk_latency_seconds", "Elasticsearch bulk request latency")
CONSUMER_LAG = Gauge("vigil_consumer_lag", "Records behind the end of the topic", ["group", "topic"])
LIMITS_HIT = Counter(
    "vigil_limits_hit_total", "Bounds applied to oversized or hostile input (see docs/operations.md)", ["limit"]
)
EVENTS_PUBLISHED = Counter("vigil_ad_events_total", "Ad events published", ["event_type"])

JOBS = Counter("vigil_jobs_total", "Crawl jobs by final state", ["state"])
SCHEDULER_RUNS = Counter("vigil_scheduler_runs_total", "Crawl jobs published by the scheduler", ["profile"])
ALERTS_SENT = Counter("vigil_alerts_sent_total", "Alerts delivered", ["subscriber", "rule"])
ALERTS_FAILED = Counter("vigil_alerts_failed_total", "Alert deliveries that failed for good", ["subscriber"])

TOR_CIRCUITS = Gauge("vigil_tor_circuits", "Built circuits per tor instance", ["instance"])
TOR_BOOTSTRAP = Gauge("vigil_tor_bootstrap_percent", "Bootstrap progress per tor instance", ["instance"])
TOR_NEWNYM = Counter("vigil_tor_newnym_total", "NEWNYM signals sent", ["profile"])
TOR_FAILURES = Counter("vigil_tor_failures_total", "Failed fetches over Tor", ["profile"])


def serve(port: int) -> None:
    """Expose /metrics on 0.0.0.0:port (no-op for port 0)."""
    if port:
        start_http_server(port)
