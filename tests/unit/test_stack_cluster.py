"""The local cluster's layout (`vigil stack up --nodes 3`): ports, quorum, replication, folders."""

from __future__ import annotations

import pytest

from vigil.app.stack import paths, services
from vigil.app.stack.cluster import client_config, cluster_settings
from vigil.app.stack.elasticsearch import Elasticsearch
from vigil.app.stack.kafka import Kafka
from vigil.core.config import Settings


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    for name in ("VIGIL_KAFKA_BOOTSTRAP", "VIGIL_ES_URL", "VIGIL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


def test_cluster_settings_point_at_their_own_ports(settings):
    cluster = cluster_settings(settings, 3)
    assert cluster.kafka.bootstrap == "127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094"
    assert cluster.es.urls == [f"http://127.0.0.1:{port}" for port in (29200, 29201, 29202)]
    assert (cluster.kafka.replication_factor, cluster.es.replicas, cluster.stack.nodes) == (3, 1, 3)
    assert cluster.state_dir == settings.state_dir, "same state directory, cluster sub-folders"
    assert settings.kafka.bootstrap == "127.0.0.1:9092" and settings.stack.nodes == 1, "the original is unchanged"
    assert client_config(cluster) == {
        "kafka": {"bootstrap": cluster.kafka.bootstrap, "replication_factor": 3},
        "es": {"url": cluster.es.url, "replicas": 1},
    }


def test_kafka_nodes_form_a_static_quorum_that_survives_one_loss(settings):
    cluster = cluster_settings(settings, 3)
    second = Kafka(cluster, 2).properties()
    assert second["node.id"] == "2"
    assert second["controller.quorum.voters"] == "1@127.0.0.1:29095,2@127.0.0.1:29096,3@127.0.0.1:29097"
    assert "controller.quorum.bootstrap.servers" not in second
    assert second["listeners"] == "PLAINTEXT://127.0.0.1:29093,CONTROLLER://127.0.0.1:29096"
    assert second["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29093"
    for key in ("default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert second[key] == "3", key
    assert second["min.insync.replicas"] == "2" and second["transaction.state.log.min.isr"] == "2"
    assert Kafka(cluster, 1).data_dir != Kafka(cluster, 2).data_dir != Kafka(settings).data_dir


def test_the_single_node_stack_is_unchanged(settings):
    single = Kafka(settings).properties()
    assert single["node.id"] == "1"
    assert single["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert single["min.insync.replicas"] == "1" and single["offsets.topic.replication.factor"] == "1"
    assert [svc.name for svc in services(settings)] == ["kafka", "elasticsearch"]
    assert paths.pid_file(settings, "kafka") == settings.state_dir / "run" / "kafka.pid"


def test_cluster_nodes_have_their_own_names_ports_and_files(settings):
    cluster = cluster_settings(settings, 3)
    assert [svc.name for svc in services(cluster, with_tor=True, with_postgres=True)] == [
        *(f"kafka-{n}" for n in (1, 2, 3)),
        *(f"elasticsearch-{n}" for n in (1, 2, 3)),
    ]
    es = Elasticsearch(cluster, 3)
    assert (es.port, es.transport_port(), es.address) == (29202, 29302, "http://127.0.0.1:29202")
    assert es.pid_path == settings.state_dir / "run" / "cluster" / "elasticsearch-3.pid"
    assert es.home == Elasticsearch(settings).home, "the distribution is shared"
    assert es.data_dir != Elasticsearch(settings).data_dir
    assert not Kafka(cluster, 1).external and not es.external
