"""Near-duplicate detection: MinHash signatures, a cluster id for re-posted/templated ads,
and a content hash for change detection.

Shingles are word 3-grams of a *templated* text: case-folded, digits folded to 0, punctuation
dropped, so a re-post with a new phone number or price keeps almost all its shingles.

The signature is computed on the main text only, not the title: titles carry the site's
suffix, the provider's name, city and age, while the body is what a template or re-post keeps.
(On the real DIG sample, two templated ads with different names have J = 0.95 on their bodies
but 0.72 with their titles.) The title is used only when the text is too short.

cluster_id must be computed from one ad alone (ads are processed independently, on different
workers), yet agree for near-duplicates. A MinHash value h_i(A) equals h_i(B) with probability
J(A, B). LSH banding ("some band equal") needs many keys per ad; taking the *minimum of the band
hashes* as a single key agrees only when both ads' minima fall in a band they share, which is
less likely than one raw MinHash agreeing. So the id hashes the first ``CLUSTER_ROWS`` MinHash
values: two ads share it with probability J**CLUSTER_ROWS. CLUSTER_ROWS = 2 rather than 1
because with a single value, stock phrases common to thousands of unrelated ads ("no blocked
calls") would often be the minimum shingle and pull them into one cluster. Measured on the DIG
sample: templated pair J = 0.95 -> P(same id) = 0.91; unrelated pairs have median J = 0 and 99th
percentile J = 0.043 -> P < 0.002. The full signature is kept in the document for similarity
estimates and LSH queries across the index. The permutation scheme is pinned (datasketch's
"affine32", seed 1): stored signatures stay comparable across datasketch upgrades.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from functools import lru_cache

from datasketch import MinHash

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"
SHINGLE_WORDS = 3
CLUSTER_ROWS = 2
MIN_TOKENS = 5
_TOKEN_RE = re.compile(r"[^\W_]+")
_DIGITS_RE = re.compile(r"\d+")


def template_tokens(text: str) -> list[str]:
    normalised = unicodedata.normalize("NFKC", text or "").casefold()
    return _TOKEN_RE.findall(_DIGITS_RE.sub("0", normalised))


def _shingles(tokens: list[str]) -> set[str]:
    if len(tokens) < SHINGLE_WORDS:
        return set(tokens)
    return {" ".join(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)}


def shingles(text: str) -> set[str]:
    return _shingles(template_tokens(text))


@lru_cache(maxsize=1)
def _permutations():
    """The seeded permutations, generated once (datasketch would redo it for every MinHash)."""
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _minhash(tokens: list[str]) -> MinHash | None:
    """datasketch's MinHash of the shingles under its default hash (the first 4 bytes of SHA-1,
    little-endian), computed here in one comprehension rather than by a Python function called per
    shingle: the same signature for less."""
    if len(tokens) < MIN_TOKENS:
        return None
    signature = MinHash(
        num_perm=NUM_PERM, seed=SEED, permutations=_permutations(), scheme=SCHEME, hashfunc=int
    )
    signature.update_batch(
        [int.from_bytes(hashlib.sha1(s.encode()).digest()[:4], "little") for s in _shingles(tokens)]
    )
    return signature


def minhash(text: str) -> MinHash | None:
    """The MinHash of the ad's text, None for texts too short to compare meaningfully."""
    return _minhash(template_tokens(text))


def ad_minhash(title: str, text: str) -> MinHash | None:
    """The ad's MinHash: over its main text, or title and text when the text is too short."""
    tokens = template_tokens(text)
    return _minhash(tokens) if len(tokens) >= MIN_TOKENS else minhash(f"{title}\n{text}")


def signature_values(signature: MinHash | None) -> list[int]:
    return signature.hashvalues.tolist() if signature is not None else []


def cluster_id(signature: MinHash | None) -> str | None:
    if signature is None:
        return None
    rows = struct.pack(f"<{CLUSTER_ROWS}Q", *(int(v) for v in signature.hashvalues[:CLUSTER_ROWS]))
    return "mh-" + hashlib.sha1(rows).hexdigest()[:16]


def similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity of two stored signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def content_hash(title: str, text: str) -> str:
    """sha256 of the whitespace-collapsed, case-folded title and text: changes mean a changed ad."""
    normalised = "\n".join(" ".join(unicodedata.normalize("NFKC", part or "").casefold().split()) for part in (title, text))
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
