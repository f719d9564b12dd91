"""Image analysis throughput: images per CPU-second (Tesseract's CPU included) of the image
worker's analysis (decode, sha256, pHash, preprocessing, OCR) on generated ad banners, against a
baseline measured in the same run: plain Tesseract on the undecorated image (what pytesseract's
``image_to_string`` does). Phone recall is printed for both, so the price of preprocessing is
shown next to what it buys. Hash-only throughput (OCR off) is printed on generated photos.

The issue's targets (OCR phone recall >= 0.9; perceptual match of transformed copies >= 0.95
with no false match among different photos) are printed with PASS or BELOW (bench/targets.py);
images per CPU-second has no target and is printed as measured.

No stack needed; takes about a minute on one core. Run with ``make bench`` or on its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from targets import report  # noqa: E402

from pipelines.images import MATCH_DISTANCE, analyse, decode, image_entities, ocr_languages, tesseract  # noqa: E402
from tests.image_samples import match_figures, phone_images, photo_copies  # noqa: E402

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
    photos = photo_copies(PHOTOS)
    hashes: list[tuple[int, str, str]] = []

    def hashed(item) -> bool:
        n, what, data = item
        hashes.append((n, what, analyse("bench", data, max_pixels=MAX_PIXELS, read_text=False).phash))
        return True

    hash_rate, _ = measure(photos, hashed)
    print(f"hashes only on {len(photos)} generated photos: {hash_rate:.1f} images per CPU-second "
          f"({hash_rate / our_rate:.0f}x the OCR rate)")  # fmt: skip
    matched, false = match_figures(hashes, MATCH_DISTANCE)
    report("images: OCR phone recall", our_recall, 0.9)
    report(f"images: perceptual match of {len(matched)} transformed copies", sum(matched) / len(matched), 0.95)
    report("images: false matches among different photos", len(false), 0, higher=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
