"""Image analysis throughput: images per CPU-second (Tesseract's CPU included) of the image
worker's analysis (decode, sha256, pHash, preprocessing, OCR) on generated ad banners, against a
baseline measured in the same run: plain Tesseract on the undecorated image (what pytesseract's
``image_to_string`` does). Phone recall is printed for both, so the price of preprocessing is
shown next to what it buys. Hash-only throughput (OCR off) is printed on generated photos.

No stack needed; takes about a minute on one core. Run with ``make bench`` or on its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.images import analyse, decode, image_entities, ocr_languages, tesseract  # noqa: E402
from tests.image_samples import jpeg, phone_images, photo, transformed_copies  # noqa: E402

BANNERS = 40
PHOTOS = 20
MAX_PIXELS = 40_000_000


def cpu_seconds() -> float:
    """This process and its finished children (the tesseract processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(items: list, step: Callable[[object], bool]) -> tuple[float, float]:
    """(images per CPU-second, share of items for which ``step`` returned True)."""
    started = cpu_seconds()
    good = sum(bool(step(item)) for item in items)
    spent = cpu_seconds() - started
    return len(items) / spent, good / len(items)


def main() -> int:
    banners = phone_images(BANNERS)

    def ours(sample) -> bool:
        facts = analyse("bench", sample.data, max_pixels=MAX_PIXELS)
        return sample.expected in [e.value for e in image_entities(facts.ocr_text, (sample.region,))]

    def baseline(sample) -> bool:
        text = tesseract(decode(sample.data, MAX_PIXELS), ocr_languages(None), psm=3)
        return sample.expected in [e.value for e in image_entities(text, (sample.region,))]

    base_rate, base_recall = measure(banners, baseline)
    our_rate, our_recall = measure(banners, ours)
    print(
        f"OCR on {BANNERS} generated banners: {our_rate:.2f} images per CPU-second, phone recall {our_recall:.2f}; "
        f"plain tesseract: {base_rate:.2f} images per CPU-second, recall {base_recall:.2f}; "
        f"ratio {our_rate / base_rate:.2f}"
    )
    photos = [data for n in range(PHOTOS) for _, data in [("original", jpeg(photo(n), 90)), *transformed_copies(photo(n), n)]]
    hash_rate, _ = measure(photos, lambda data: analyse("bench", data, max_pixels=MAX_PIXELS, read_text=False).phash)
    print(f"hashes only on {len(photos)} generated photos: {hash_rate:.1f} images per CPU-second "
          f"({hash_rate / our_rate:.0f}x the OCR rate)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
