"""Formatting Kafka's KRaft storage with the real StorageTool, as `vigil stack up` does."""

from __future__ import annotations

import pytest

from vigil.app.stack.kafka import Kafka
from vigil.core.config import Settings

pytestmark = pytest.mark.integration


def test_a_cluster_id_beginning_with_a_dash_formats_storage(stack, tmp_path, monkeypatch):
    """A base64url cluster id begins with '-' about once in 64 fresh stacks; kafka-storage must not
    read it as an option ("argument --cluster-id/-t: expected one argument")."""
    jars = Kafka(stack).lib
    if not (jars / ".complete").exists():
        pytest.skip(f"Kafka's jars are not fetched at {jars} (`vigil stack fetch`)")
    for name in ("VIGIL_HOME", "VIGIL_CONFIG", "VIGIL_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    kafka = Kafka(Settings(home=tmp_path, kafka={"bootstrap": "127.0.0.1:1", "controller_port": 2}))
    kafka.lib = jars
    assert kafka.data_dir.is_relative_to(tmp_path), "must never touch the shared stack's storage"
    server = kafka.write_config()
    cluster_id = "-Qm2vS1yT7eHc1xK0n9pZw"

    kafka.format_storage(server, cluster_id)

    meta = (kafka.data_dir / "meta.properties").read_text()
    assert f"cluster.id={cluster_id}\n" in meta, meta
