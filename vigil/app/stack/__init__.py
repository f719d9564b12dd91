"""The local stack: Kafka (KRaft) and Elasticsearch from Maven Central, tor from Debian.

One node of each by default; ``cluster.cluster_settings(settings, N)`` gives the settings of a
local N-node cluster beside it (``vigil stack up --nodes N``), which every function here accepts.

``ensure_up`` starts what is not already healthy (idempotent; services reachable at the configured
address are left untouched, external ones -- VIGIL_KAFKA_BOOTSTRAP / VIGIL_ES_URL -- are never
started), ``down`` stops exactly the processes whose PIDs ``up`` recorded (data is kept), and
``status`` reports each service.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from vigil.app.stack import accounts, paths
from vigil.app.stack.elasticsearch import Elasticsearch
from vigil.app.stack.errors import StackError
from vigil.app.stack.kafka import Kafka
from vigil.app.stack.postgres import Postgres
from vigil.app.stack.s3 import SeaweedS3
from vigil.app.stack.tor import Tor
from vigil.core.config import Settings

__all__ = ["StackError", "ensure_up", "down", "status", "fetch", "services"]

Report = Callable[[str, str], None]


def _quiet(service: str, message: str) -> None:
    pass


def services(
    settings: Settings, with_tor: bool = False, with_postgres: bool = False, with_s3: bool = False
) -> list:
    """The stack's services; a local cluster is its Kafka and Elasticsearch nodes only."""
    nodes = range(1, settings.stack.nodes + 1)
    found: list = [*(Kafka(settings, n) for n in nodes), *(Elasticsearch(settings, n) for n in nodes)]
    if settings.stack.nodes > 1:
        return found
    if with_tor:
        found.append(Tor(settings))
    if with_postgres:
        found.append(Postgres(settings))
    if with_s3:
        found.append(SeaweedS3(settings))
    return found


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """One ``up``/``down`` at a time per state directory (parallel test sessions share a stack)."""
    with open(paths.run_dir(settings) / "stack.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fetch(settings: Settings, report: Report = _quiet, with_s3: bool = False) -> dict[str, str]:
    """Download Kafka's jars and the Elasticsearch zip (unless external), and with ``with_s3`` build
    the S3 server; cached, so quick twice."""
    result: dict[str, str] = {}
    with _lock(settings):
        for svc in services(settings, with_s3=with_s3):
            if svc.external:
                result[svc.name] = "external"
                continue
            if not svc.fetched():
                report(svc.name, f"fetching {svc.version} from {getattr(svc, 'source', 'Maven Central')}")
            result[svc.name] = "fetched" if svc.fetch() else "cached"
    return result


def ensure_up(
    settings: Settings,
    with_tor: bool = False,
    report: Report = _quiet,
    with_postgres: bool = False,
    with_s3: bool = False,
) -> dict[str, str]:
    """Start every service that is not already healthy and wait until all are ready.

    Returns service -> 'external' | 'running' (already healthy, untouched) | 'started'.
    Raises StackError naming the failing service and its log file.
    """
    result: dict[str, str] = {}
    timeout = settings.stack.ready_timeout
    with _lock(settings):
        accounts.claim_service_base(settings)
        pending = []
        for svc in services(settings, with_tor, with_postgres, with_s3):
            if svc.external:
                report(svc.name, f"external at {svc.address}")
                if not svc.healthy():
                    raise StackError(f"{svc.name}: the external cluster at {svc.address} does not answer")
                result[svc.name] = "external"
                continue
            if svc.healthy():
                if hasattr(svc, "check_secured"):
                    svc.check_secured(report)
                report(svc.name, f"already running at {svc.address}")
                result[svc.name] = "running"
                continue
            if svc.pid() is not None:
                report(svc.name, f"process {svc.pid()} is starting; waiting")
            else:
                if hasattr(svc, "fetched") and not svc.fetched():
                    report(svc.name, f"fetching {svc.version} from {getattr(svc, 'source', 'Maven Central')}")
                    svc.fetch()
                report(svc.name, f"starting at {svc.address}")
                svc.start()
            pending.append(svc)
        # Start everything first, then wait: Kafka and ES boot in parallel.
        for svc in pending:
            svc.wait_ready(timeout)
            report(svc.name, f"ready at {svc.address} (pid {svc.pid()})")
            result[svc.name] = "started"
    return result


def down(settings: Settings, report: Report = _quiet) -> dict[str, str]:
    """Stop the processes this state directory's ``up`` started (by recorded PID); keep data."""
    result: dict[str, str] = {}
    with _lock(settings):
        for svc in reversed(services(settings, with_tor=True, with_postgres=True, with_s3=True)):
            if svc.external:
                result[svc.name] = "external"
                continue
            if svc.pid() is None:
                result[svc.name] = "not running"
                continue
            report(svc.name, f"stopping pid {svc.pid()}")
            if not svc.stop():
                raise StackError(f"{svc.name}: process {svc.pid()} did not stop")
            result[svc.name] = "stopped"
    return result


def status(
    settings: Settings, with_tor: bool = True, with_postgres: bool = True, with_s3: bool = True
) -> dict[str, dict]:
    """Per service: version, address, healthy, pid (int, None, or 'external'), log path."""
    return {svc.name: svc.status() for svc in services(settings, with_tor, with_postgres, with_s3)}
