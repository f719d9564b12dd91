"""The producer's partitioner puts every key where kafka-python's default (Java-compatible murmur2)
does: consumers, compaction and per-key ordering rely on a key always landing in one partition."""

import random

from kafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_murmur2

from vigil.core.partitioner import KeyPartitioner, murmur2


def keys() -> list[bytes]:
    rng = random.Random(18)
    found = [b"", b"a", b"ab", b"abc", b"abcd", bytes(range(256)), "Cześć €".encode()]
    found += [rng.randbytes(rng.randrange(0, 300)) for _ in range(20000)]
    found += [f"http://127.0.0.1:8080/ad/{n}".encode() for n in range(5000)]
    return found


def test_murmur2_matches_kafka_python_for_every_length_and_byte():
    for key in keys():
        assert murmur2(key) == kafka_murmur2(key), key


def test_murmur2_matches_the_java_client():
    # Values of org.apache.kafka.common.utils.Utils.murmur2 (UtilsTest.testMurmur2), as unsigned ints.
    java = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
            b"a-little-bit-longer-string": -1486304829, b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
            b"abc": 479470107}
    for key, value in java.items():
        assert murmur2(key) == value & 0xFFFFFFFF


class Cluster:
    """The three ClusterMetadata methods a partitioner asks: one topic with ``count`` partitions."""

    def __init__(self, topic: str, count: int):
        self.topic, self.count = topic, count

    def topics(self) -> set[str]:
        return {self.topic}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(range(self.count)) if topic == self.topic else None

    available_partitions_for_topic = partitions_for_topic


def test_a_key_goes_to_the_partition_kafka_pythons_default_chooses():
    ours, theirs = KeyPartitioner(), DefaultPartitioner()
    for count in (1, 3, 4, 12):
        meta = Cluster("t", count)
        for key in keys():
            assert ours.partition("t", key, key, b"v", b"v", meta) == theirs.partition("t", key, key, b"v", b"v", meta)


def test_records_without_a_key_and_unknown_topics_are_left_to_the_default():
    meta = Cluster("t", 4)
    assert KeyPartitioner().partition("t", None, None, b"v", b"v", meta) in range(4)
    try:
        KeyPartitioner().partition("other", b"k", b"k", b"v", b"v", meta)
    except ValueError as exc:
        assert "not found" in str(exc)
    else:
        raise AssertionError("an unknown topic must raise as the default partitioner does")
