"""The demo's own Kafka consumer groups: started at the topics' end, measured, deleted afterwards.

The demo shares the configured topics with anything else (so analysts can explore its results
with the default configuration), but its workers must not replay what is already in them: an old
crawl job of a demo profile would otherwise re-crawl the board as a non-baseline job and raise a
new-ad alert for every ad. So each run uses fresh groups whose committed offsets are set to the
end of their topics before any worker starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.config import KafkaSettings


@dataclass(frozen=True)
class Group:
    role: str  # "crawl", "enrich", "alerts"
    group_id: str
    topic: str


def _partitions(admin, topic: str) -> list:
    from kafka import TopicPartition

    described = admin.describe_topics([topic])
    partitions = described[0]["partitions"] if described else []
    if not partitions:
        raise RuntimeError(f"topic {topic} has no partitions (run `vigil init`)")
    return [TopicPartition(topic, p["partition_index"]) for p in partitions]


class ConsumerGroups:
    """One admin client for placing, measuring and deleting the demo's groups."""

    def __init__(self, settings: KafkaSettings, groups: list[Group]):
        from vigil.core.kafka import admin

        self.groups = groups
        self.admin = admin(settings)
        self._partitions = {g.topic: _partitions(self.admin, g.topic) for g in groups}

    def start_at_end(self) -> None:
        """Commit every group's offsets at its topic's end (no member may be running yet)."""
        from kafka.admin import OffsetSpec

        for group in self.groups:
            specs = {tp: OffsetSpec.LATEST for tp in self._partitions[group.topic]}
            result = self.admin.reset_group_offsets(group.group_id, specs)
            failed = {tp: r["error"] for tp, r in result.items() if r["error"].__name__ != "NoError"}
            if failed:
                raise RuntimeError(
                    f"consumer group {group.group_id} could not be placed at the end: {failed}"
                )

    def lag(self) -> dict[str, int]:
        """role -> records in its topic not yet committed by its group."""
        from kafka.admin import OffsetSpec

        every = [tp for g in self.groups for tp in self._partitions[g.topic]]
        ends = self.admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in every})
        committed = self.admin.list_group_offsets({g.group_id: None for g in self.groups})
        result = {}
        for group in self.groups:
            mine = committed.get(group.group_id) or {}
            result[group.role] = sum(
                max(0, ends[tp].offset - (mine[tp].offset if tp in mine and mine[tp].offset >= 0 else 0))
                for tp in self._partitions[group.topic]
            )
        return result

    def delete(self) -> None:
        """Forget the groups (they are per run); best effort, they expire by themselves anyway."""
        try:
            self.admin.delete_groups([g.group_id for g in self.groups])
        except Exception:  # noqa: BLE001 - Kafka drops empty groups after offsets.retention.minutes
            pass

    def close(self) -> None:
        self.admin.close()
