"""Extraction on real escort ads (DIG, 2013-2014) against the original project's rough oracle.

Not an integration test of the stack: it reads ../shared/data/dig-ads and skips, with the reason
printed, when that folder is absent. Prints precision and recall for phones, e-mails and ages and
asserts only floors a little under what was measured.

Gold sets:
* ads-sample.json (10 ads): phones = oracle ``phone`` rows for these ads plus each ad's own
  ``phone`` field, minus oracle values that are not valid NANP numbers (the oracle parsed a CSS
  colour ``rgb(17, 85, 204)`` as phone 1785204); ages = oracle ``age`` rows; e-mails = oracle
  ``email`` rows (none of them belongs to these 10 ads, so only false positives are measurable).
* deobf-body-sample.json (50 bodies, no oracle): hand-counted distinct phone numbers and stated
  ages per body, by index (counts only, no values copied from the data).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import phonenumbers
import pytest

from pipelines.analysis import analyze
from vigil.core.records import RawPage

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dig-ads"

DEOBF_NO_PHONE = {1, 5, 6, 8, 11, 14, 18}
DEOBF_TWO_PHONES = {41}
DEOBF_AGE_COUNT = {10: 1, 40: 1, 43: 1}

PHONE_RECALL_FLOOR = 0.9
PHONE_PRECISION_FLOOR = 0.9
DEOBF_PHONE_RECALL_FLOOR = 0.95
DEOBF_PHONE_PRECISION_FLOOR = 0.9
AGE_RECALL_FLOOR = 0.9


@pytest.fixture(scope="module")
def dig() -> Path:
    if not DATA.is_dir():
        reason = f"shared data set not found at {DATA}"
        print(f"skipping: {reason}")
        pytest.skip(reason)
    return DATA


def raw_page(ad_id: str, body: str, fields: dict[str, str] | None = None) -> RawPage:
    return RawPage(
        profile_id="dig",
        job_id="oracle",
        url=f"http://dig.example/{ad_id}",
        canonical_url=f"http://dig.example/{ad_id}",
        final_url=f"http://dig.example/{ad_id}",
        status=200,
        content_type="text/html",
        page_type="ad",
        ad_id=ad_id,
        country="US",
        fields=fields or {},
        body=body,
        body_sha256="0" * 64,
    )


def unescape_dump(body: str) -> str:
    """The deobf bodies hold literal "\\n" and "\\uXXXX" escapes from a double JSON encoding."""
    body = body.replace("\\r", "").replace("\\n", "\n")
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), body)


def precision_recall(found: dict[str, set], gold: dict[str, set]) -> tuple[float, float, int, int, int]:
    tp = sum(len(found.get(k, set()) & gold.get(k, set())) for k in set(found) | set(gold))
    n_found = sum(len(v) for v in found.values())
    n_gold = sum(len(v) for v in gold.values())
    precision = tp / n_found if n_found else 1.0
    recall = tp / n_gold if n_gold else 1.0
    return precision, recall, tp, n_found, n_gold


def report(name: str, precision: float, recall: float, tp: int, n_found: int, n_gold: int) -> None:
    print(f"{name}: precision {precision:.2f} ({tp}/{n_found}), recall {recall:.2f} ({tp}/{n_gold})")


@pytest.fixture(scope="module")
def sample(dig):
    ads = json.loads((dig / "ads-sample.json").read_text(encoding="utf-8"))
    oracle = json.loads((dig / "ads-attributes-sample-100.json").read_text(encoding="utf-8"))
    docs = {ad["id"]: analyze(raw_page(ad["id"], ad["text"], {"title": ad["title"], "body": ad["text"]})) for ad in ads}
    return ads, oracle, docs


def as_e164(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def test_phones_on_ads_sample(sample):
    ads, oracle, docs = sample
    ids = set(docs)
    gold: dict[str, set] = {i: set() for i in ids}
    dropped = []
    for row in oracle:
        if row["attribute"] == "phone" and row["ads_id"] in ids:
            e164 = as_e164(row["value"])
            (gold[row["ads_id"]].add(e164) if e164 else dropped.append(row["value"]))
    for ad in ads:
        if ad["phone"] and as_e164(ad["phone"]):
            gold[ad["id"]].add(as_e164(ad["phone"]))
    found = {i: set(doc.phones) for i, doc in docs.items()}
    print(f"\noracle phone values dropped as not valid numbers: {dropped}")
    result = precision_recall(found, gold)
    report("phones (ads-sample, 10 ads)", *result)
    raw_gold = {i: {as_e164(r["value"]) or r["value"] for r in oracle if r["attribute"] == "phone" and r["ads_id"] == i} for i in ids}
    report("phones vs raw oracle (incl. its CSS-colour error)", *precision_recall(found, raw_gold))
    assert result[0] >= PHONE_PRECISION_FLOOR and result[1] >= PHONE_RECALL_FLOOR


def test_phones_on_deobfuscation_bodies(dig):
    bodies = json.loads((dig / "deobf-body-sample.json").read_text(encoding="utf-8"))
    tp = n_found = n_gold = obfuscated = 0
    for index, row in enumerate(bodies):
        doc = analyze(raw_page(f"b{index}", unescape_dump(row["clean_body"])))
        expected = 0 if index in DEOBF_NO_PHONE else 2 if index in DEOBF_TWO_PHONES else 1
        tp += min(len(doc.phones), expected)
        n_found += len(doc.phones)
        n_gold += expected
        obfuscated += any(e.obfuscated for e in doc.entities if e.type == "phone")
    precision, recall = tp / n_found, tp / n_gold
    print(f"\nobfuscated phones recovered: {obfuscated}")
    report("phones (deobf bodies, 50, counts)", precision, recall, tp, n_found, n_gold)
    assert precision >= DEOBF_PHONE_PRECISION_FLOOR and recall >= DEOBF_PHONE_RECALL_FLOOR


def test_emails(sample, dig):
    ads, oracle, docs = sample
    gold = {i: {r["value"].lower() for r in oracle if r["attribute"] == "email" and r["ads_id"] == i} for i in docs}
    found = {i: set(doc.emails) for i, doc in docs.items()}
    bodies = json.loads((dig / "deobf-body-sample.json").read_text(encoding="utf-8"))
    for index, row in enumerate(bodies):
        found[f"b{index}"] = set(analyze(raw_page(f"b{index}", unescape_dump(row["clean_body"]))).emails)
    result = precision_recall(found, gold)
    print("\ne-mails: the oracle's e-mail rows belong to ads not in ads-sample.json; no text holds an address")
    report("e-mails (ads-sample + deobf bodies)", *result)
    assert result[3] == 0, f"false e-mail addresses: {found}"


def test_ages(sample, dig):
    ads, oracle, docs = sample
    gold = {i: {int(r["value"]) for r in oracle if r["attribute"] == "age" and r["ads_id"] == i} for i in docs}
    found = {i: set(doc.ages) for i, doc in docs.items()}
    report("ages (ads-sample vs oracle)", *precision_recall(found, gold))
    bodies = json.loads((dig / "deobf-body-sample.json").read_text(encoding="utf-8"))
    tp = n_found = n_gold = 0
    for index, row in enumerate(bodies):
        ages = analyze(raw_page(f"b{index}", unescape_dump(row["clean_body"]))).ages
        expected = DEOBF_AGE_COUNT.get(index, 0)
        tp += min(len(ages), expected)
        n_found += len(ages)
        n_gold += expected
    report("ages (deobf bodies, counts)", tp / max(n_found, 1), tp / n_gold, tp, n_found, n_gold)
    precision, recall, *_ = precision_recall(found, gold)
    assert recall >= AGE_RECALL_FLOOR and precision >= 0.9
    assert tp / n_gold >= AGE_RECALL_FLOOR


def test_templated_real_ads_share_a_cluster(sample):
    _, _, docs = sample
    assert docs["2"].cluster_id == docs["4"].cluster_id
    others = {doc.cluster_id for key, doc in docs.items() if key not in ("2", "4")}
    assert docs["2"].cluster_id not in others
