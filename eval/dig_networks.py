"""Network linking on real ads: DIG escort ads linked by a shared phone, phones masked.

The check issue 15 describes, on the real ads beside the repository (../shared/data/dig-ads, or
$VIGIL_DIG_DATA; never copied): the ads of ``ads-sample.json`` and the bodies of
``deobf-body-sample.json``. Truth: ads naming the same phone (found by the production recogniser)
are one network. Every phone is then masked out of the text, so the production linker
(pipelines.networks.Linker, in memory) can only link them by their text; pair precision and
recall are printed. The sample is small (60 ads, a few shared-phone pairs): a smoke test of the
text links on real writing, not a measurement to tune on.

    python -m eval.dig_networks [--json]      # exit 0, with the reason printed, when the data is absent
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval.networks import EPOCH, score_groups
from pipelines.near_duplicates import ad_minhash, signature_values
from pipelines.networks import Linker, MemoryStore, link_record
from vigil.app.demo.dig_sample import data_dir
from vigil.core.config import NetworksSettings
from vigil.core.entities import find_entities
from vigil.core.records import AdDocument

DIG = data_dir()
MASK = "[phone]"


def load(folder: Path) -> list[tuple[str, str, str]]:
    """(ad key, title, text) of the real ads."""
    ads = [
        (f"dig:{ad['id']}", ad.get("title") or "", ad.get("text") or "")
        for ad in json.loads((folder / "ads-sample.json").read_text(encoding="utf-8"))
    ]
    bodies = json.loads((folder / "deobf-body-sample.json").read_text(encoding="utf-8"))
    ads += [(f"body:{n}", "", b.get("clean_body", "").replace("\\n", "\n")) for n, b in enumerate(bodies)]
    return ads


def masked(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + MASK + text[end:]
    return text


def corpus(folder: Path) -> tuple[list[AdDocument], list[list[str]]]:
    """The ads with their phones masked, and the shared-phone groups (the truth)."""
    docs: list[AdDocument] = []
    by_phone: dict[str, set[str]] = {}
    for key, title, text in load(folder):
        fields = []
        for part in (title, text):
            phones = [e for e in find_entities(part, ("US",)) if e.type == "phone"]
            for e in phones:
                by_phone.setdefault(e.value, set()).add(key)
            fields.append(masked(part, [(e.start, e.end) for e in phones if e.start >= 0]))
        title, text = fields
        docs.append(
            AdDocument(
                ad_key=key,
                profile_id="dig",
                url=f"http://dig.example/{key}",
                canonical_url=f"http://dig.example/{key}",
                country="US",
                title=title,
                text=text,
                signature=signature_values(ad_minhash(title, text)),
                fetched_at=EPOCH,
                first_seen=EPOCH,
            )  # fmt: skip
        )
    groups = _merged([sorted(keys) for keys in by_phone.values()], [d.ad_key for d in docs])
    return docs, groups


def _merged(groups: list[list[str]], keys: list[str]) -> list[list[str]]:
    """Shared-phone groups closed over ads naming two phones; every other ad is its own group."""
    parent = {k: k for k in keys}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for group in groups:
        for other in group[1:]:
            parent[find(other)] = find(group[0])
    found: dict[str, list[str]] = {}
    for k in keys:
        found.setdefault(find(k), []).append(k)
    return list(found.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (DIG / "ads-sample.json").exists() or not (DIG / "deobf-body-sample.json").exists():
        print(f"networks on real ads: skipped, {DIG} is absent (set VIGIL_DIG_DATA)")
        return 0
    docs, truth = corpus(DIG)
    settings = NetworksSettings()
    linker = Linker(MemoryStore(), settings)
    found: dict[str, str] = {}
    for doc in docs:
        found.update(linker.observe(link_record(doc, settings)).assignments)
    scores = score_groups(len(docs), truth, found)
    if args.json:
        print(json.dumps(scores.as_dict()))
    else:
        print(
            f"networks on real ads (DIG, phones masked): {scores.ads} ads, {scores.true_networks} "
            f"shared-phone groups, {scores.found_networks} found; pair precision {scores.precision:.3f}, "
            f"pair recall {scores.recall:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
