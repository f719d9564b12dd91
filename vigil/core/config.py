"""Vigil's one configuration model.

Read from a YAML file (``--config`` or ``VIGIL_CONFIG``, else ``./vigil.yaml`` when present) and
from ``VIGIL_*`` environment variables, which win. Nested keys use one underscore after the
section name: ``VIGIL_KAFKA_BOOTSTRAP``, ``VIGIL_ES_URL``, ``VIGIL_TOR_SOCKS_PORT``.
Secrets (passwords, API keys, tokens) belong in the environment, never in the repository.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_CONFIG_FILE = "vigil.yaml"
CREDENTIALS_FILE = "elasticsearch-credentials.json"  # in the state directory, written by `vigil stack up`
S3_CREDENTIALS_FILE = "s3-credentials.json"  # in the state directory, written by `vigil stack up --with s3`
# What crawlers and the image fetcher send unless a profile sets politeness.user_agent.
DEFAULT_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


class ConfigError(Exception):
    """Invalid configuration: one line naming the key and the reason."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Topics(Section):
    crawl_jobs: str = "vigil.crawl.jobs"
    job_status: str = "vigil.jobs.status"
    pages_raw: str = "vigil.pages.raw"
    pages_dlq: str = "vigil.pages.dlq"
    ad_events: str = "vigil.ads.events"
    network_links: str = "vigil.networks.links"


class KafkaSettings(Section):
    """Where Kafka is and how to talk to it; SASL/SSL options go to kafka-python unchanged."""

    bootstrap: str = "127.0.0.1:9092"
    controller_port: int = Field(9093, ge=1, le=65535, description="local stack only")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    topics: Topics = Topics()
    partitions: int = Field(4, ge=1)
    replication_factor: int = Field(1, ge=1)
    retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=-1, description="every topic's retention (-1 = keep)")
    topic_retention_ms: dict[str, int] = Field(
        default_factory=lambda: {"pages_dlq": 14 * 24 * 3600 * 1000},
        description="per topic (key of `topics`), overriding retention_ms; `vigil init` applies both",
    )
    max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    session_timeout_ms: int = Field(
        10000, ge=6000, le=300000, description="a consumer silent this long leaves its group (failover time)"
    )
    lag_interval_seconds: float = Field(10.0, gt=0, description="how often every consumer reports its lag")
    stall_seconds: float = Field(
        60.0,
        ge=5,
        description="a consumer that has records waiting on its partitions and receives none for this long "
        "(checked when it reports its lag) leaves its group and joins again",
    )
    dead_letter_excerpt_bytes: int = Field(
        64 * 1024, ge=0, le=1024 * 1024, description="at most this much of a dead-lettered original is copied"
    )

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap_has_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {value!r}")
        return value

    @field_validator("topic_retention_ms")
    @classmethod
    def _known_topics(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(Topics.model_fields))
        if unknown:
            raise ValueError(
                f"unknown topic key(s) {', '.join(unknown)}; one of {', '.join(Topics.model_fields)}"
            )
        if any(ms < -1 for ms in value.values()):
            raise ValueError("a retention is -1 (keep) or milliseconds >= 0")
        return value

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    def retention_for(self, key: str) -> int:
        """retention.ms of the topic configured under ``key`` (e.g. ``pages_dlq``)."""
        return self.topic_retention_ms.get(key, self.retention_ms)

    def topic_configs(self, key: str) -> dict[str, str]:
        """The topic configs Vigil sets on create and re-applies on every `vigil init`."""
        return {
            "retention.ms": str(self.retention_for(key)),
            "max.message.bytes": str(self.max_message_bytes + 1024 * 1024),
        }

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by kafka-python producers, consumers and admin clients."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            value = getattr(self, key)
            if value is not None:
                options[key] = str(value)
        return options

    @property
    def port(self) -> int:
        return int(self.servers[0].rpartition(":")[2])


class Indices(Section):
    ads: str = "vigil-ads"
    entities: str = "vigil-entities"
    alerts: str = "vigil-alerts"
    jobs: str = "vigil-jobs"
    pages: str = "vigil-pages"
    audit: str = "vigil-audit"
    networks: str = "vigil-networks"
    network_state: str = "vigil-network-state"
    ad_versions: str = "vigil-ad-versions"


class ElasticsearchSettings(Section):
    url: str = "http://127.0.0.1:9200"
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    request_timeout: float = Field(30.0, gt=0)
    identity: Literal["admin", "writer", "analyst"] = Field(
        "admin", description="which of the local stack's generated credentials to use (none set here)"
    )
    indices: Indices = Indices()
    shards: int = Field(1, ge=1)
    replicas: int = Field(0, ge=0)

    @field_validator("url")
    @classmethod
    def _urls_are_http(cls, value: str) -> str:
        for url in value.split(","):
            if not url.strip().startswith(("http://", "https://")):
                raise ValueError(f"expected http(s)://host:port[,...], got {value!r}")
        return value

    @property
    def urls(self) -> list[str]:
        return [u.strip().rstrip("/") for u in self.url.split(",") if u.strip()]

    @property
    def port(self) -> int:
        from urllib.parse import urlsplit

        return urlsplit(self.urls[0]).port or 9200

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``elasticsearch.Elasticsearch``."""
        options: dict[str, Any] = {"hosts": self.urls, "request_timeout": self.request_timeout}
        if self.api_key:
            options["api_key"] = self.api_key.get_secret_value()
        elif self.username:
            options["basic_auth"] = (
                self.username,
                self.password.get_secret_value() if self.password else "",
            )
        if self.ca_certs:
            options["ca_certs"] = str(self.ca_certs)
        if not self.verify_certs:
            options["verify_certs"] = False
        return options


class TorInstance(Section):
    """One tor daemon: its SOCKS port for traffic, its control port for stem."""

    socks_host: str = "127.0.0.1"
    socks_port: int = Field(9050, ge=1, le=65535)
    control_host: str = "127.0.0.1"
    control_port: int = Field(9051, ge=1, le=65535)
    control_password: SecretStr | None = None
    cookie_path: Path | None = None


class TorSettings(TorInstance):
    """The default tor instance, plus any extra ones that profiles are spread over."""

    extra_instances: list[TorInstance] = []
    newnym_after_failures: int = Field(3, ge=1)
    allow_js: bool = Field(False, description="documented OPSEC override; see docs/tor.md")
    health_interval_seconds: float = Field(
        30.0, ge=0, description="crawl workers check each tor instance this often (Tor gauges); 0 = never"
    )

    @property
    def instances(self) -> list[TorInstance]:
        first = TorInstance(**{k: getattr(self, k) for k in TorInstance.model_fields})
        return [first, *self.extra_instances]


class StackSettings(Section):
    """Versions and sizes of the local single-node stack (`vigil stack up`)."""

    kafka_version: str = "4.1.1"
    elasticsearch_version: str = "9.1.5"
    es_heap: str = "512m"
    es_transport_port: int = Field(9300, ge=1, le=65535)
    es_user: str = "vigil-es"
    es_root: Path | None = Field(None, description="ES distribution and data; default <home>/elasticsearch")
    java_home: Path | None = None
    es_java_home: Path | None = None
    ready_timeout: float = Field(180.0, gt=0)
    nodes: int = Field(1, ge=1, le=5, description="set by `vigil stack up --nodes N`: a local N-node cluster")
    cluster_kafka_port: int = Field(
        29092, ge=1, le=65000, description="cluster brokers listen on N ports from here, controllers on the next N"
    )
    cluster_es_port: int = Field(29200, ge=1, le=65000, description="cluster ES nodes: HTTP on N ports from here")
    cluster_es_transport_port: int = Field(29300, ge=1, le=65000, description="and transport on N ports from here")
    cluster_es_heap: str = "384m"
    cluster_kafka_heap: str = "512m"
    postgres_port: int = Field(55432, ge=1, le=65535, description="`vigil stack up --with postgres`")
    postgres_user: str = Field("vigil-pg", description="the account PostgreSQL runs as when started by root")
    s3_port: int = Field(
        58333, ge=1, le=65527, description="`vigil stack up --with s3`: S3 here, its servers on the next 7 ports"
    )
    s3_user: str = Field("vigil-s3", description="the account the local S3 server runs as when started by root")
    es_security: bool = Field(
        True, description="local Elasticsearch with security: generated credentials, roles (docs/security.md)"
    )


class CrawlSettings(Section):
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="stored body; larger is truncated")
    download_maxsize: int = Field(32 * 1024 * 1024, ge=1024)
    chromium_path: Path = Path("/usr/bin/chromium")
    deny_networks: list[str] = []
    max_items_per_page: int = Field(500, ge=1, description="items read from one page or JSON response, at most")
    validators_dir: Path | None = Field(
        None, description="ETag/Last-Modified of listing pages for conditional re-crawls; default <state_dir>/validators"
    )
    max_hosts: int = Field(50_000, ge=1, description="distinct hosts one crawl may contact; DNS pins are never evicted")
    browser_sandbox: bool = Field(True, description="Chromium's sandbox; false adds --no-sandbox (see docs/security.md)")
    browser_user: str = Field("vigil-browser", description="system user Chromium runs as when the crawler is root")


class LimitsSettings(Section):
    """Bounds on what one hostile page can cost; each hit is counted in ``vigil_limits_hit_total``
    (label ``limit`` = the key's name) and listed in docs/operations.md."""

    field_chars: int = Field(65536, ge=256, description="characters kept of one profile field (crawler)")
    text_chars: int = Field(
        100_000, ge=1000, le=1_000_000, description="characters of an ad's text that analysis reads"
    )
    entity_spans_per_value: int = Field(5, ge=1, description="occurrences kept of one entity value")
    entity_values_per_type: int = Field(200, ge=1, description="distinct values kept per entity type")
    evidence_spans: int = Field(10, ge=1, description="evidence spans kept per indicator hit")
    analysis_seconds: float = Field(5.0, gt=0, description="CPU seconds analysis may spend on one page")
    document_bytes: int = Field(
        2 * 1024 * 1024, ge=64 * 1024, description="an ad document larger than this is trimmed before indexing"
    )
    nested_objects: int = Field(
        5000, ge=100, le=10000, description="entities kept in one ad document (ES refuses > 10,000 nested)"
    )
    bulk_bytes: int = Field(
        10 * 1024 * 1024, ge=64 * 1024, description="largest Elasticsearch bulk request (server default 100 MB)"
    )


class SchedulerSettings(Section):
    """The watch scheduler: where its job store lives, how runs are spread, who may publish."""

    jobstore_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the job store and lease; default sqlite:///<state_dir>/scheduler.sqlite "
        "(one host); postgresql://user:password@host/db for schedulers on several hosts",
    )
    jitter_ratio: float = Field(0.1, ge=0, le=1, description="interval watches: jitter = ratio * interval")
    max_jitter_seconds: float = Field(60.0, ge=0, description="upper bound of any run's jitter")
    misfire_grace_seconds: int | None = Field(
        3600, ge=1, description="a run late by more is skipped; missed runs are coalesced into one"
    )
    lease_seconds: float = Field(
        15.0, gt=0, description="leadership lease; a standby takes over after it expires"
    )
    sync_seconds: float = Field(2.0, gt=0, description="how often watches and the lease are re-read")
    baseline_first_run: bool = Field(
        True, description="a newly watched site's first crawl raises no new-ad alerts"
    )
    incremental: bool = Field(True, description="default for watches: re-crawls stop at known ads")

    def store_url(self, state_dir: Path) -> str:
        return self.jobstore_url or f"sqlite:///{state_dir / 'scheduler.sqlite'}"


class JobsSettings(Section):
    """The crawl worker: concurrency, retries and the time one crawl may take."""

    slots: int = Field(2, ge=1, description="crawls running at once (one per profile at a time)")
    attempts: int = Field(3, ge=1, description="tries per job before it is recorded as failed")
    backoff_seconds: float = Field(5.0, ge=0, description="first retry delay, doubled on each retry")
    timeout_seconds: float = Field(3600.0, gt=0, description="a crawl running longer is killed and retried")
    group_id: str = "vigil-crawl"


class AlertsSettings(Section):
    """The alerts worker: delivery retries, the sender of e-mail alerts and the local inbox."""

    attempts: int = Field(4, ge=1, description="delivery tries per target before the alert is failed")
    backoff_seconds: float = Field(1.0, ge=0, description="first retry delay, doubled on each retry")
    mail_from: str = Field("vigil@localhost", description="From: of mailto:// URLs that name none")
    inbox: Path | None = Field(None, description="JSON-lines file receiving every delivered alert")
    rules: Path | None = Field(
        None, description="same as the top-level alerts_rules (VIGIL_ALERTS_RULES sets both); that one wins"
    )
    group_id: str = "vigil-alerts"
    stale_seconds: float = Field(
        60.0, gt=0, description="a pending alert unchanged this long is picked up by the sweeper"
    )
    sending_timeout_seconds: float = Field(
        900.0, gt=0, description="an alert left `sending` this long is failed as 'outcome unknown'"
    )
    sweep_seconds: float = Field(30.0, gt=0, description="how often the sweeper looks for stale alerts")
    link_template: str = Field(
        "vigil alerts show {alert_id}",
        description="how an alert points into Vigil; {alert_id} and {ad_key} are filled in",
    )


class FilesRetentionSettings(Section):
    """Files Vigil writes besides Kafka and Elasticsearch, for `vigil retention apply`."""

    log_days: int = Field(30, ge=1, description="log files not written for this long are deleted")
    log_dirs: list[Path] | None = Field(
        None, description="where log files are; default <home>/logs and <home>/demo"
    )
    inbox_days: int | None = Field(
        None, ge=1, description="alert inbox lines older than this; default retention_days"
    )
    report_dirs: list[Path] = Field(
        default_factory=list,
        description="folders of reports and exports whose files older than report_days go",
    )
    report_days: int | None = Field(None, ge=1, description="default retention_days")


class EvidenceSettings(Section):
    """Court-grade evidence (docs/evidence.md): WARC captures, screenshots, signed manifests."""

    store: str = Field(
        "", description="where evidence goes: empty = <state_dir>/evidence, or s3://BUCKET[/PREFIX]"
    )
    s3_endpoint_url: str | None = Field(None, description="an S3-compatible server; None = AWS")
    s3_region: str = "us-east-1"
    s3_access_key: SecretStr | None = Field(None, description="else boto3's own chain (AWS_ACCESS_KEY_ID, ...)")
    s3_secret_key: SecretStr | None = None
    capture: bool = Field(True, description="the crawler writes every fetch to WARC files in the store")
    warc_max_bytes: int = Field(
        1_000_000_000, ge=4096, description="a WARC file is closed and stored once it reaches this size"
    )
    screenshots: bool = Field(True, description="full-page PNG of render_js pages (images blocked unless allowed)")
    screenshot_max_height: int = Field(
        16384, ge=256, le=65536, description="pixels of a full-page screenshot, at most (longer pages are cut)"
    )
    screenshot_max_bytes: int = Field(8 * 1024 * 1024, ge=4096, description="a larger screenshot is not kept")
    retention_days: int | None = Field(
        None, ge=1, description="evidence older than this is deleted unless on hold; default retention_days"
    )
    manifest_interval_hours: float = Field(24.0, gt=0, description="one signed manifest per period")
    signing_key_file: Path | None = Field(
        None,
        description="Ed25519 private key (PEM); default <state_dir>/evidence-signing.pem, made on first use; "
        "VIGIL_EVIDENCE_SIGNING_KEY (PEM text) overrides",
    )
    signing_key: SecretStr | None = None
    tsa_url: str | None = Field(None, description="an RFC 3161 time-stamp authority for manifests")


class ImagesSettings(Section):
    """The image worker (docs/images.md); what a site allows is in its profile's ``images`` key."""

    group_id: str = "vigil-images"
    max_pixels: int = Field(
        40_000_000, ge=10_000, description="larger images are refused before decoding (decompression bombs)"
    )
    timeout_seconds: float = Field(20.0, gt=0, description="per image: connect, read and OCR each")
    hub_min_ads: int = Field(25, ge=2, description="an image entity on this many ads is a hub (logo, placeholder)")
    hub_min_sites: int = Field(4, ge=2, description="... or on this many sites")
    min_side: int = Field(48, ge=1, description="smaller images (icons, tracking pixels) are never links")
    user_agent: str = Field(DEFAULT_USER_AGENT, description="when the profile names none")
    profile_reload_seconds: float = Field(30.0, gt=0, description="how often profiles are re-read")

class NetworksSettings(Section):
    """Corpus-level linking of ads into networks (docs/networks.md): signals, thresholds, guards."""

    entity_types: list[str] = Field(
        ["phone", "email", "wallet", "handle", "image"],
        description="entity types whose shared values link ads (any type enrichment emits may be added)",
    )
    bands: int = Field(32, ge=1, description="LSH bands over the stored MinHash (bands * rows <= 128)")
    rows: int = Field(4, ge=1, description="MinHash values per LSH band")
    strong_similarity: float = Field(
        0.8, gt=0, le=1, description="text Jaccard (boilerplate removed) that links like a shared phone"
    )
    weak_similarity: float = Field(
        0.45, gt=0, le=1, description="text Jaccard that links, unless it would join two large networks"
    )
    min_shingles: int = Field(8, ge=1, description="fewer non-boilerplate shingles: no text link")
    large_network: int = Field(5, ge=2, description="a weak text link alone never merges two networks this big")
    hub_max_ads: int = Field(
        40, ge=2, description="an entity value on more ads is a hub: it links only with a second signal"
    )
    hub_values: list[str] = Field(
        default_factory=list, description="'type:value' always treated as hubs (a site's support line)"
    )
    hub_site_min_ads: int = Field(4, ge=2, description="an entity value on this many ads of one site ...")
    hub_site_share: float = Field(
        0.5, gt=0, le=1, description="... and on this share of them is the site's own line: a hub"
    )
    band_max_ads: int = Field(200, ge=2, description="an LSH band on more ads is boilerplate: no candidates")
    boilerplate_min_ads: int = Field(
        4, ge=2, description="a shingle on this many ads of one site may be its boilerplate"
    )
    boilerplate_ratio: float = Field(
        0.5, gt=0, le=1, description="... and on at least this share of its ads (a network may own a small site)"
    )
    max_component: int = Field(5000, ge=10, description="bound on the ads re-examined when a network changes")
    group_id: str = "vigil-networks"

    @model_validator(mode="after")
    def _bands_fit(self) -> NetworksSettings:
        if self.bands * self.rows > 128:
            raise ValueError("bands * rows must be at most 128 (the MinHash length)")
        if self.weak_similarity > self.strong_similarity:
            raise ValueError("weak_similarity must not exceed strong_similarity")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VIGIL_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
    )

    home: Path = Path(".vigil")
    profiles_dir: Path = Path("profiles")
    alerts_rules: Path | None = None
    metrics_port: int = Field(0, ge=0, le=65535, description="0 = no metrics endpoint")
    retention_days: int = Field(
        90, ge=1, description="`vigil retention apply` deletes ad data older than this"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    kafka: KafkaSettings = KafkaSettings()
    es: ElasticsearchSettings = ElasticsearchSettings()
    tor: TorSettings = TorSettings()
    stack: StackSettings = StackSettings()
    crawl: CrawlSettings = CrawlSettings()
    limits: LimitsSettings = LimitsSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    jobs: JobsSettings = JobsSettings()
    alerts: AlertsSettings = AlertsSettings()
    files_retention: FilesRetentionSettings = FilesRetentionSettings()
    images: ImagesSettings = ImagesSettings()
    networks: NetworksSettings = NetworksSettings()
    evidence: EvidenceSettings = EvidenceSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the YAML file, which arrives as init kwargs.
        return env_settings, init_settings

    def consumer_groups(self) -> dict[str, str]:
        """The consumer group of each worker configured here (the enrich worker's is its --group)."""
        return {
            "jobs": self.jobs.group_id,
            "alerts": self.alerts.group_id,
            "images": self.images.group_id,
            "networks": self.networks.group_id,
        }

    @model_validator(mode="after")
    def _groups_of_their_own(self) -> Settings:
        """Workers of different kinds read different topics; in one group, every rebalance of the
        one would stop the other until both have joined again."""
        seen: dict[str, str] = {}
        for section, group in self.consumer_groups().items():
            if group in seen:
                raise ValueError(
                    f"{seen[group]}.group_id and {section}.group_id are both {group!r}: "
                    "each kind of worker needs a consumer group of its own"
                )
            seen[group] = section
        return self

    @model_validator(mode="after")
    def _stack_credentials(self) -> Settings:
        """Without VIGIL_ES_* credentials, use those `vigil stack up` generated for the local stack."""
        if self.es.username or self.es.api_key or self.es_is_external:
            return self
        try:
            data = json.loads((self.home.expanduser().resolve() / CREDENTIALS_FILE).read_text())
        except (OSError, ValueError):
            return self
        if data.get("users", {}).get(f"vigil-{self.es.identity}"):
            self.es.username = f"vigil-{self.es.identity}"
            self.es.password = SecretStr(data["users"][self.es.username])
        elif data.get("elastic"):
            self.es.username, self.es.password = "elastic", SecretStr(data["elastic"])
        return self

    @model_validator(mode="after")
    def _stack_s3_credentials(self) -> Settings:
        """An s3:// evidence store without keys uses those `vigil stack up --with s3` generated
        (and that server's endpoint, when none is configured)."""
        evidence = self.evidence
        if not evidence.store.startswith("s3://") or evidence.s3_access_key is not None:
            return self
        try:
            data = json.loads((self.home.expanduser().resolve() / S3_CREDENTIALS_FILE).read_text())
        except (OSError, ValueError):
            return self
        if data.get("access_key") and data.get("secret_key"):
            evidence.s3_access_key = SecretStr(data["access_key"])
            evidence.s3_secret_key = SecretStr(data["secret_key"])
            evidence.s3_endpoint_url = evidence.s3_endpoint_url or data.get("endpoint")
        return self

    @cached_property
    def state_dir(self) -> Path:
        path = self.home.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    @property
    def kafka_is_external(self) -> bool:
        """True when VIGIL_KAFKA_BOOTSTRAP points at a cluster the local stack does not run."""
        return "VIGIL_KAFKA_BOOTSTRAP" in os.environ

    @property
    def es_is_external(self) -> bool:
        return "VIGIL_ES_URL" in os.environ


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(root)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return f"invalid configuration in {source}: {key}: {message}"


def config_path(explicit: str | Path | None = None) -> Path | None:
    """The YAML file in force: explicit, else $VIGIL_CONFIG, else ./vigil.yaml if it exists."""
    if explicit:
        return Path(explicit)
    if os.environ.get("VIGIL_CONFIG"):
        return Path(os.environ["VIGIL_CONFIG"])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.exists() else None


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate; every failure becomes a ConfigError naming the key and the reason."""
    file = config_path(path)
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"invalid configuration: config file {file} does not exist") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid configuration in {file}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"invalid configuration in {file}: top level must be a mapping")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(file) if file else "environment")) from None
