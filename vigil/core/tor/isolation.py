"""Which tor instance and which circuits a profile uses.

Profiles are spread over the configured tor instances by a stable hash of the profile id (the
same profile always lands on the same instance, across processes and restarts). Within an
instance each profile presents its own SOCKS username, so with ``IsolateSOCKSAuth`` (tor's
default) no two profiles ever share a circuit. The password carries a per-process nonce and a
generation: rotating a profile bumps the generation, which moves its new streams to fresh
circuits without disturbing other profiles on the same instance.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import zlib

from vigil.core.config import TorInstance, TorSettings

_MAX_USERNAME = 200


def instance_index(profile_id: str, count: int) -> int:
    """Stable index in [0, count) for a profile id (CRC-32, not Python's per-process salted hash)."""
    return zlib.crc32(profile_id.encode("utf-8")) % count if count > 1 else 0


def instance_for(tor: TorSettings, profile_id: str) -> TorInstance:
    instances = tor.instances
    return instances[instance_index(profile_id, len(instances))]


def socks_username(profile_id: str) -> str:
    name = f"vigil:{profile_id}"
    if len(name.encode("utf-8")) > _MAX_USERNAME:
        name = "vigil:" + hashlib.sha256(profile_id.encode("utf-8")).hexdigest()
    return name


class Isolation:
    """SOCKS credentials per profile for one crawl process; ``rotate`` asks for fresh circuits."""

    def __init__(self, nonce: str | None = None):
        self._nonce = nonce or secrets.token_hex(6)
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def credentials(self, profile_id: str) -> tuple[str, str]:
        generation = self._generations.get(profile_id, 0)
        return socks_username(profile_id), f"{self._nonce}.{generation}"

    def generation(self, profile_id: str) -> int:
        return self._generations.get(profile_id, 0)

    def rotate(self, profile_id: str) -> int:
        with self._lock:
            self._generations[profile_id] = self._generations.get(profile_id, 0) + 1
            return self._generations[profile_id]
