"""`make eval`: run `vigil analyze` over the project's labelled sets and the DIG oracle, print
precision and recall per entity type and per obfuscation class, fail below the floors.

    python tests/eval/harness.py [--verbose]

The labelled sets (tests/eval/data/*.jsonl, written by tests/eval/generate.py) are grouped by
(country, language); each group is written to a temporary folder, one file per item, and
analysed by one `vigil analyze DIR --json --country CC --language LL` run of the real command
(in process, so the libraries load once). The DIG oracle is read from ../shared/data/dig-ads
beside the repository (or $VIGIL_DIG_DATA) and never copied; without it that part is skipped with
the reason printed. The generated-text detector is measured on tests/eval/data/llm_ads.txt
(LLM-written) against the DIG texts (human, 2013-2014). Main-text extraction is measured on the
known ads laid out in several page layouts (tests/eval/main_text.py). Exit 1 when a floor is not met.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from vigil.app.demo.dig_sample import data_dir  # noqa: E402 - the repository is on the path from here

DATA = Path(__file__).resolve().parent / "data"
FLOORS = {"phone": 0.97, "age": 0.95, "handle": 0.95}
# heldout.jsonl: written by hand from the class list (not by generate.py) and measured
# before the rules were changed for it; its classes are prefixed "heldout_"
SETS = ("phones", "ads", "decoys", "heldout")
DIG = data_dir()


class Tally:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, found: set, gold: set) -> None:
        self.tp += len(found & gold)
        self.fp += len(found - gold)
        self.fn += len(gold - found)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self, name: str) -> str:
        return (
            f"  {name:<28} precision {self.precision:.3f} ({self.tp}/{self.tp + self.fp})"
            f"   recall {self.recall:.3f} ({self.tp}/{self.tp + self.fn})"
        )


def run_analyze(folder: Path, country: str | None, language: str | None) -> dict[str, dict]:
    """`vigil analyze FOLDER --json ...` through the real command; records by file name."""
    from typer.testing import CliRunner

    from vigil.app.cli import app

    args = ["analyze", str(folder), "--json"]
    if country:
        args += ["--country", country]
    if language:
        args += ["--language", language]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"vigil analyze failed ({result.exit_code}): {result.output[-2000:]}")
    records = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            records[Path(record["file"]).stem] = record
    return records


def analyse_items(items: list[dict]) -> dict[str, dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for item in items:
        groups[(item.get("country"), item.get("language"))].append(item)
    records: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-eval-") as tmp:
        for index, ((country, language), members) in enumerate(sorted(groups.items(), key=str)):
            folder = Path(tmp) / f"g{index}"
            folder.mkdir()
            for item in members:
                suffix = ".html" if item.get("html") else ".txt"
                (folder / f"{item['id']}{suffix}").write_text(item["text"], encoding="utf-8")
            records.update(run_analyze(folder, country, language))
    return records


def load(name: str) -> list[dict]:
    with open(DATA / f"{name}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def own_sets(verbose: bool) -> dict[str, Tally]:
    items = [item for name in SETS for item in load(name)]
    records = analyse_items(items)
    totals = {kind: Tally() for kind in FLOORS}
    by_class: dict[str, Tally] = defaultdict(Tally)
    by_language: dict[str, Tally] = defaultdict(Tally)
    by_set: dict[str, Tally] = defaultdict(Tally)
    misses = []
    for item in items:
        record = records[item["id"]]
        found_phones, gold_phones = set(record["phones"]), set(item["phones"])
        totals["phone"].add(found_phones, gold_phones)
        by_set["heldout" if item["class"].startswith("heldout_") else "generated"].add(found_phones, gold_phones)
        by_class[item["class"]].add(found_phones, gold_phones)
        if not item["class"].endswith("decoy"):
            by_language[item["language"] or "-"].add(found_phones, gold_phones)
        if "ages" in item:
            totals["age"].add(set(record["ages"]), set(item["ages"]))
            if set(record["ages"]) != set(item["ages"]):
                misses.append((item["id"], "ages", record["ages"], item["ages"], item["text"]))
        if "handles" in item:
            totals["handle"].add(set(record["handles"]), set(item["handles"]))
            if set(record["handles"]) != set(item["handles"]):
                misses.append((item["id"], "handles", record["handles"], item["handles"], item["text"]))
        if found_phones != gold_phones:
            misses.append((item["id"], "phones", record["phones"], item["phones"], item["text"]))
    print(f"project sets: {len(items)} items ({', '.join(f'{n} {len(load(n))}' for n in SETS)})")
    for kind, tally in totals.items():
        print(tally.line(kind + "s"))
    for name, tally in sorted(by_set.items()):
        print(tally.line(f"phones, {name} sets"))
    print(" phones per obfuscation class:")
    for cls in sorted(by_class):
        print(by_class[cls].line(cls))
    print(" phones per language (obfuscated sets and ads):")
    for language in sorted(by_language):
        print(by_language[language].line(language))
    if verbose:
        for miss in misses:
            print("  MISS", miss)
    else:
        print(f"  ({len(misses)} items differ from the gold; --verbose lists them)")
    return totals


def unescape_dump(body: str) -> str:
    """The DIG deobf bodies hold literal "\\n" and "\\uXXXX" escapes from a double JSON encoding."""
    body = body.replace("\\r", "").replace("\\n", "\n")
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), body)


def dig_oracle() -> list[str] | None:
    """Phones and ages on the DIG sample (real US escort ads, 2013-2014) against its oracle."""
    if not DIG.is_dir():
        print(f"DIG oracle: skipped: shared data set not found at {DIG}")
        return None
    from tests.fixture_site.server import us_e164 as as_e164

    ads = json.loads((DIG / "ads-sample.json").read_text(encoding="utf-8"))
    oracle = json.loads((DIG / "ads-attributes-sample-100.json").read_text(encoding="utf-8"))
    bodies = json.loads((DIG / "deobf-body-sample.json").read_text(encoding="utf-8"))

    items = [{"id": f"ad{ad['id']}", "country": "US", "language": None, "html": True,
              "text": f"<h1>{ad['title']}</h1><div>{ad['text']}</div>"} for ad in ads]  # fmt: skip
    items += [{"id": f"body{i}", "country": "US", "language": None, "html": True, "text": unescape_dump(row["clean_body"])}
              for i, row in enumerate(bodies)]  # fmt: skip
    records = analyse_items(items)
    phones, ages = Tally(), Tally()
    for ad in ads:
        gold = {as_e164(r["value"]) for r in oracle if r["attribute"] == "phone" and r["ads_id"] == ad["id"]}
        gold |= {as_e164(ad["phone"])} if ad.get("phone") else set()
        gold.discard(None)
        phones.add(set(records[f"ad{ad['id']}"]["phones"]), gold)
        ages.add(set(records[f"ad{ad['id']}"]["ages"]), {int(r["value"]) for r in oracle if r["attribute"] == "age" and r["ads_id"] == ad["id"]})
    print("DIG oracle (../shared/data/dig-ads, real ads, not copied):")
    print(phones.line("phones, ads-sample (10)"))
    print(ages.line("ages, ads-sample (10)"))
    from tests.integration.test_dig_oracle import DEOBF_AGES, DEOBF_PHONE_DIGESTS, digest

    counted = Tally()
    for index in range(len(bodies)):
        counted.add({digest(p) for p in records[f"body{index}"]["phones"]}, DEOBF_PHONE_DIGESTS.get(index, set()))
        ages.add(set(records[f"body{index}"]["ages"]), DEOBF_AGES.get(index, set()))
    print(counted.line("phones, deobf bodies (50, by value)"))
    print(ages.line("ages, ads + bodies (by value)"))
    escalated = [key for key, record in records.items() if record["escalate"]]
    print(f"  escalations on {len(records)} real adult ads (none offers a minor): {len(escalated)}"
          f" = {1000 * len(escalated) / len(records):.1f} per 1,000 {escalated or ''}")  # fmt: skip
    return [records[f"body{i}"]["text"] for i in range(len(bodies))] + [records[f"ad{ad['id']}"]["text"] for ad in ads]


def generated_text(human_texts: list[str] | None) -> None:
    from pipelines.generated import llm_likeness
    from pipelines.indicators import default_taxonomy

    threshold = next(i for i in default_taxonomy().indicators if i.id == "ai_generated_text").params["max_ratio"]
    llm = [line for line in (DATA / "llm_ads.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    llm_scores = [llm_likeness(text, "en") for text in llm]
    caught = sum(1 for s in llm_scores if s is not None and s <= threshold)
    print(f"generated text (ai_generated_text, ratio <= {threshold}):")
    print(f"  recall on {len(llm)} LLM-written ads: {caught / len(llm):.3f} ({caught}/{len(llm)})")
    if human_texts is None:
        print("  precision: skipped (the human sample is the DIG data, not present)")
        return
    human_scores = [s for s in (llm_likeness(text, "en") for text in human_texts) if s is not None]
    false = sum(1 for s in human_scores if s <= threshold)
    print(f"  false alarms on {len(human_scores)} human-written DIG ads: {false} "
          f"(precision at a 1:1 mix {caught / (caught + false) if caught + false else 1:.3f})")  # fmt: skip


def main() -> int:
    verbose = "--verbose" in sys.argv
    started = time.perf_counter()
    totals = own_sets(verbose)
    human = dig_oracle()
    generated_text(human)
    from tests.eval import main_text

    extraction_failed = main_text.measure(DIG)
    failed = [
        f"{kind}: precision {tally.precision:.3f} recall {tally.recall:.3f} < {FLOORS[kind]}"
        for kind, tally in totals.items()
        if min(tally.precision, tally.recall) < FLOORS[kind]
    ] + extraction_failed
    print(f"eval took {time.perf_counter() - started:.1f} s")
    for line in failed:
        print(f"FAIL {line}")
    print(f"eval: {len(FLOORS) + 1 - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
