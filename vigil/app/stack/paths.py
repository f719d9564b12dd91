"""Where the local stack keeps things under the state directory (``settings.state_dir``).

<state>/kafka/<version>/lib/          Kafka's jars (``vigil stack fetch``)
<state>/kafka/config/                 server.properties, log4j2.properties
<state>/kafka/data/                   the KRaft log directory (topics, metadata)
<state>/elasticsearch/<version>/      the unpacked distribution (``vigil stack fetch``)
<state>/elasticsearch/{config,data,logs,tmp,run}/
<state>/tor/{torrc,data/}
<state>/run/<service>.pid             PIDs of the processes ``vigil stack up`` started
<state>/logs/<service>.log            their stdout and stderr
<state>/postgres/{data,run}/          `vigil stack up --with postgres`

A local cluster (`vigil stack up --nodes N`, see cluster.py) shares the fetched distributions and
keeps everything else apart, so it never touches the single-node stack:

<state>/kafka/cluster/node-<n>/{config,data}/
<elasticsearch root>/cluster/node-<n>/{config,data,logs,tmp,run}/
<state>/run/cluster/, <state>/logs/cluster/, <state>/cluster/vigil.yaml (the clients' settings)
"""

from __future__ import annotations

from pathlib import Path

from vigil.core.config import Settings


def _cluster(settings: Settings) -> str:
    return "cluster" if settings.stack.nodes > 1 else ""


def run_dir(settings: Settings) -> Path:
    path = settings.state_dir / "run" / _cluster(settings)
    path.mkdir(parents=True, exist_ok=True)
    return path


def logs_dir(settings: Settings) -> Path:
    path = settings.state_dir / "logs" / _cluster(settings)
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_file(settings: Settings, service: str) -> Path:
    return logs_dir(settings) / f"{service}.log"


def pid_file(settings: Settings, name: str) -> Path:
    return run_dir(settings) / f"{name}.pid"
