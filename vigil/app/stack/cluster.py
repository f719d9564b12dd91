"""A local N-node cluster beside the single-node stack, for failover tests (`vigil stack up --nodes N`).

The cluster's settings are the configured ones with the stack's cluster ports (brokers from
``stack.cluster_kafka_port``, controllers right after them, Elasticsearch HTTP and transport from
``stack.cluster_es_port`` / ``stack.cluster_es_transport_port``), topics replicated min(3, N)
times and indices with one replica. Its state lives in ``cluster`` sub-folders of the same state
directory (see paths.py), so it never collides with the single-node stack on 9092/9200.
``<state>/cluster/vigil.yaml`` holds what a client (worker, crawl, scheduler) needs to use it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from vigil.core.config import Settings

HOST = "127.0.0.1"


def cluster_settings(settings: Settings, nodes: int) -> Settings:
    """``settings`` turned towards the local ``nodes``-node cluster."""
    stack = settings.stack
    brokers = [f"{HOST}:{stack.cluster_kafka_port + i}" for i in range(nodes)]
    kafka = settings.kafka.model_copy(
        update={
            "bootstrap": ",".join(brokers),
            "controller_port": stack.cluster_kafka_port + nodes,
            "replication_factor": min(3, nodes),
        }
    )
    es = settings.es.model_copy(
        update={
            "url": ",".join(f"http://{HOST}:{stack.cluster_es_port + i}" for i in range(nodes)),
            "replicas": min(1, nodes - 1),
        }
    )
    stack = stack.model_copy(
        update={
            "nodes": nodes,
            "es_transport_port": stack.cluster_es_transport_port,
            "es_heap": stack.cluster_es_heap,
        }
    )
    return settings.model_copy(update={"kafka": kafka, "es": es, "stack": stack})


def client_config(cluster: Settings) -> dict:
    """The configuration keys that point Vigil's commands at the cluster (merge them into a config)."""
    return {
        "kafka": {"bootstrap": cluster.kafka.bootstrap, "replication_factor": cluster.kafka.replication_factor},
        "es": {"url": cluster.es.url, "replicas": cluster.es.replicas},
    }


def write_client_config(cluster: Settings) -> Path:
    """``<state>/cluster/vigil.yaml``: use it with ``VIGIL_CONFIG`` (or ``--config``)."""
    path = cluster.state_dir / "cluster" / "vigil.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# written by `vigil stack up --nodes N`: the local cluster; VIGIL_CONFIG=this file\n"
        + yaml.safe_dump(client_config(cluster), sort_keys=False)
    )
    return path
