"""Image analysis in memory, measured on generated images (tests/image_samples.py): OCR phone
recall, perceptual matching of transformed copies, bounded decoding, photo-link helpers, and the
enrich worker keeping the image worker's findings. Needs Debian's tesseract-ocr and DejaVu fonts."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from pipelines.image_links import closest, is_hub
from pipelines.images import (
    MATCH_DISTANCE,
    ImageRejected,
    analyse,
    decode,
    hash_bands,
    image_entities,
    perceptual_hash,
)
from pipelines.indexer import merge_ad
from pipelines.regions import candidate_regions
from tests.image_samples import jpeg, match_figures, phone_images, photo, photo_copies, png
from vigil.core.records import AdDocument, Entity

MAX_PIXELS = 40_000_000
REPO = Path(__file__).resolve().parents[2]
PHONE_SAMPLES = 40
PHOTOS = 30


def test_ocr_reads_phone_numbers_from_generated_banners():
    """Fonts, sizes, colours, gradients, rotations up to 12 degrees, JPEG qualities: recall >= 0.9."""
    samples = phone_images(PHONE_SAMPLES)
    misses = []
    for sample in samples:
        facts = analyse("http://x/i.png", sample.data, max_pixels=MAX_PIXELS, hashes=False)
        phones = [e.value for e in image_entities(facts.ocr_text, (sample.region,)) if e.type == "phone"]
        if sample.expected not in phones:
            misses.append((sample.description, facts.ocr_text))
    recall = 1 - len(misses) / len(samples)
    print(f"OCR phone recall {recall:.3f} on {len(samples)} generated banners")
    assert recall >= 0.9, misses


def test_transformed_copies_match_and_different_photos_never_do():
    items = photo_copies(PHOTOS)
    hashes = [(n, what, perceptual_hash(decode(data, MAX_PIXELS))) for n, what, data in items]
    matched, false = match_figures(hashes, MATCH_DISTANCE)
    rate = sum(matched) / len(matched)
    print(f"perceptual match {rate:.3f} on {len(matched)} copies; false matches {len(false)}")
    copies = [(n, what, h) for n, what, h in hashes if what != "original"]
    assert rate >= 0.95, [(n, what) for (n, what, _), ok in zip(copies, matched, strict=True) if not ok]
    assert not false
    # the copies also link through the canonical value: the nearest candidate is their original
    originals = [h for _, what, h in hashes if what == "original"]
    assert all(
        closest(h, originals) == originals[n] for (n, _, h), ok in zip(copies, matched, strict=True) if ok
    )


def test_hash_bands_find_every_hash_within_the_match_distance():
    rng = random.Random(3)
    for _ in range(300):
        value = rng.getrandbits(64)
        flipped = value
        for bit in rng.sample(range(64), rng.randint(0, MATCH_DISTANCE)):
            flipped ^= 1 << bit
        a, b = f"{value:016x}", f"{flipped:016x}"
        assert set(hash_bands(a)) & set(hash_bands(b)), (a, b)
    assert len(hash_bands("0" * 16)) == MATCH_DISTANCE + 1


def test_decompression_bombs_are_refused_before_decoding():
    bomb = io.BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")  # a few KB, 64 megapixels once decoded
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(ImageRejected) as refused:
        decode(bomb.getvalue(), 40_000_000)
    assert refused.value.cause == "too_many_pixels"


@pytest.mark.parametrize("data", [b"", b"<html>not an image</html>", png(Image.new("RGB", (40, 40)))[:60]])
def test_broken_or_foreign_bytes_are_refused(data):
    with pytest.raises(ImageRejected) as refused:
        decode(data, MAX_PIXELS)
    assert refused.value.cause == "undecodable"


def test_transparent_images_are_flattened_on_white():
    image = Image.new("RGBA", (60, 30), (0, 0, 0, 0))
    assert decode(png(image), MAX_PIXELS).getpixel((5, 5)) == (255, 255, 255)


def test_ocr_entities_come_from_the_text_recognisers_marked_as_image():
    found = image_entities("WhatsApp 06-12 34 56 78 or mail anna@example.org", candidate_regions("NL", "nl"))
    assert {("phone", "+31612345678"), ("email", "anna@example.org")} <= {(e.type, e.value) for e in found}
    assert all(e.source == "image" and e.start == -1 for e in found)


def test_hubs_by_ads_or_by_sites():
    assert is_hub({"ad_count": 25, "sites": ["a"]}, 25, 4)
    assert is_hub({"ad_count": 4, "sites": ["a", "b", "c", "d"]}, 25, 4)
    assert not is_hub({"ad_count": 24, "sites": ["a", "b", "c"]}, 25, 4)


def test_enrich_merge_keeps_the_image_workers_findings():
    t0 = datetime(2026, 11, 1, tzinfo=UTC)

    def ad(record_id: str, text: str, at: datetime) -> AdDocument:
        return AdDocument(
            ad_key="site:1", profile_id="site", url="http://x/1", canonical_url="http://x/1", record_id=record_id,
            fetched_at=at, text=text, content_hash=text, phones=["+31600000001"],
            entities=[Entity(type="phone", value="+31600000001")],
        )  # fmt: skip

    first, _ = merge_ad(None, ad("r1", "hello", t0))
    first.update(
        image_hashes=["8f373714acfcf4d0"],
        ocr_text="Bel 0612345678",
        images=[{"url": "http://x/1.jpg", "sha256": "ab", "phash": "8f373714acfcf4d0", "link": "8f373714acfcf4d0",
                 "width": 300, "height": 200}],  # fmt: skip
        phones=["+31600000001", "+31612345678"],
        entities=[*first["entities"], {"type": "phone", "value": "+31612345678", "source": "image"},
                  {"type": "image", "value": "8f373714acfcf4d0", "source": "image"}],  # fmt: skip
    )
    again, status = merge_ad(first, ad("r2", "hello again", t0 + timedelta(hours=1)))
    assert status == "changed"
    assert again["image_hashes"] == ["8f373714acfcf4d0"] and again["ocr_text"] == "Bel 0612345678"
    assert again["phones"] == ["+31600000001", "+31612345678"]
    assert [e["value"] for e in again["entities"] if e.get("source") == "image"] == ["+31612345678", "8f373714acfcf4d0"]
    assert AdDocument.model_validate(again).images[0].link == "8f373714acfcf4d0"


# Every system call that can create or change a file, and the open flags that can write.
FILE_WRITES = "open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink," \
    "symlinkat,unlink,unlinkat,truncate,ftruncate,mknod,mknodat"
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TMPFILE|O_TRUNC|O_APPEND")
CALL = re.compile(r"^\d+\s+(\w+)\(")
ANALYSE_FROM_STDIN = """
import sys
from pipelines.images import analyse
for data in sys.stdin.buffer.read().split(b"--next-image--"):
    facts = analyse("http://x/i", data, max_pixels=40_000_000, language="nl")
    print(facts.phash, facts.ocr_text)
"""


def test_no_image_byte_touches_the_disk(tmp_path):
    """The whole analysis (decode, hashes, preprocessing, Tesseract) of a banner and a photo, in a
    process traced with every child (strace -f): no file is opened for writing, created, renamed or
    removed anywhere (/tmp included), and the temp directory it is given stays empty."""
    strace = shutil.which("strace")
    assert strace, "strace is missing: deploy/local/setup.sh installs it"
    images = phone_images(1)[0].data + b"--next-image--" + jpeg(photo(5), 80)
    temp = tmp_path / "tmp"
    temp.mkdir()
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [strace, "-f", "-qq", "-e", "signal=none", "-e", f"trace={FILE_WRITES}", "-o", str(trace), sys.executable, "-c", ANALYSE_FROM_STDIN],
        input=images, capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert "0612345678" in done.stdout.decode().replace(" ", ""), done.stdout  # Tesseract did run
    calls = [(m.group(1), line) for line in trace.read_text().splitlines() if (m := CALL.match(line))]
    assert any("tessdata" in line for _, line in calls), "the trace did not follow Tesseract"
    writes = [line for name, line in calls if not name.startswith("open") or WRITE_FLAGS.search(line)]
    assert not writes, writes
    assert not list(temp.iterdir())
