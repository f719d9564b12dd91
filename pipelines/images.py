"""Ad images analysed in memory: bounded decoding, hashes, OCR. No fetching and no disk here.

What an image leaves behind is ``ImageFacts`` (sha256, perceptual hash, dimensions, OCR text);
the bytes and the decoded pixels are dropped when the call returns. Tesseract reads the
preprocessed image from a pipe (``tesseract stdin stdout``) rather than from a temporary file,
which is why this module does not use pytesseract (it writes the image to a temp file first).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from vigil.core.entities import find_entities
from vigil.core.records import Entity

# pHash (64 bits): transformed copies of a photo (recompressed, resized, cropped by a few per
# cent, watermarked) stay within this many differing bits, different photos stay far above it;
# both sides are measured in tests/unit/test_images.py.
MATCH_DISTANCE = 10
TESSERACT = "tesseract"
TESSERACT_TIMEOUT = 20.0
OCR_MAX_SIDE = 2400
OCR_MIN_SIDE = 900
OCR_MAX_SCALE = 4.0
DESKEW_MAX_DEGREES = 15
OCR_TEXT_LIMIT = 4000
# Tesseract's traineddata name for each language the analysis detects (Debian tesseract-ocr-<name>).
TESSERACT_LANGUAGES = {
    "en": "eng", "de": "deu", "nl": "nld", "fr": "fra", "es": "spa", "it": "ita", "pl": "pol",
    "ro": "ron", "pt": "por", "ru": "rus", "uk": "ukr",
}  # fmt: skip


class ImageRejected(Exception):
    """The bytes are not an image this worker will decode; ``cause`` labels the failure metric."""

    def __init__(self, cause: str, message: str):
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class ImageFacts:
    """Everything kept of one image."""

    url: str
    sha256: str
    phash: str | None
    width: int
    height: int
    ocr_text: str = ""


def decode(data: bytes, max_pixels: int) -> Image.Image:
    """The first frame as RGB; refuses non-images and anything over ``max_pixels`` *before*
    decoding its pixels (the header is read first), so a decompression bomb costs nothing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels or width <= 0 or height <= 0:
                raise ImageRejected("too_many_pixels", f"{width}x{height} is over {max_pixels} pixels")
            image.seek(0)
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_many_pixels", str(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageRejected("undecodable", f"{type(exc).__name__}: {exc}") from None
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def perceptual_hash(image: Image.Image) -> str:
    """pHash as 16 hex digits (64 bits)."""
    import imagehash

    return str(imagehash.phash(image))


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hash_bands(phash: str, distance: int = MATCH_DISTANCE) -> list[str]:
    """The hash cut into ``distance + 1`` bit ranges, each tagged with its position: two hashes
    within ``distance`` bits agree on at least one band (pigeonhole), so an exact terms query on
    the bands finds every candidate match, and Hamming distance then decides."""
    bits = format(int(phash, 16), f"0{len(phash) * 4}b")
    count = distance + 1
    edges = [round(i * len(bits) / count) for i in range(count + 1)]
    return [f"{i}:{bits[edges[i] : edges[i + 1]]}" for i in range(count)]


def _otsu(values: np.ndarray) -> tuple[int, float]:
    """Otsu's threshold of a uint8 array and its between-class variance (how separable it is)."""
    histogram = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    total = histogram.sum()
    weights = np.cumsum(histogram)
    means = np.cumsum(histogram * np.arange(256))
    background = weights / total
    foreground = 1.0 - background
    mean_all = means[-1] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * background - means / total) ** 2 / (background * foreground)
    between = np.nan_to_num(between[:-1])
    threshold = int(np.argmax(between))
    return threshold, float(between[threshold])


def _binarise(image: Image.Image) -> Image.Image:
    """Black text on white: of grey, red, green and blue, the channel whose two classes are the
    most separable (red text on green can be one grey), thresholded by Otsu, polarity so that the
    minority class (the text) is black."""
    rgb = np.asarray(image)
    grey = np.asarray(image.convert("L"))
    channels = [grey, rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]]
    best = max(channels, key=lambda c: _otsu(c)[1])
    threshold, _ = _otsu(best)
    ink = best <= threshold
    if ink.mean() > 0.5:
        ink = ~ink
    return Image.fromarray(np.where(ink, 0, 255).astype(np.uint8))


def _skew(binary: Image.Image) -> float:
    """The rotation (degrees) that makes text lines horizontal: the angle whose row profile of
    ink is the most peaked, searched on a small copy."""
    small = binary.copy()
    small.thumbnail((400, 400))
    inverted = ImageOps.invert(small)
    best_angle, best_score = 0.0, -1.0
    for angle in range(-DESKEW_MAX_DEGREES, DESKEW_MAX_DEGREES + 1):
        rows = np.asarray(inverted.rotate(angle, expand=True), dtype=np.float64).sum(axis=1)
        score = float(np.square(np.diff(rows)).sum())
        if score > best_score:
            best_angle, best_score = float(angle), score
    return best_angle


def prepare_for_ocr(image: Image.Image) -> Image.Image:
    """Upscaled (small banners), binarised and deskewed, with a white margin."""
    width, height = image.size
    scale = min(OCR_MAX_SCALE, max(1.0, OCR_MIN_SIDE / max(width, height)))
    scale = min(scale, OCR_MAX_SIDE / max(width, height))
    if scale != 1.0:
        image = image.resize(
            (max(1, int(width * scale)), max(1, int(height * scale))), Image.Resampling.LANCZOS
        )
    binary = _binarise(image)
    angle = _skew(binary)
    if angle:
        binary = binary.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        binary = binary.point(lambda v: 255 if v > 127 else 0)
    return ImageOps.expand(binary, border=20, fill=255)


def tesseract(
    image: Image.Image, languages: str = "eng", psm: int = 11, timeout: float = TESSERACT_TIMEOUT
) -> str:
    """Tesseract on an in-memory image, through a pipe; one thread (workers scale by process)."""
    buffer = io.BytesIO()
    image.save(buffer, "PPM")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(
        [TESSERACT, "stdin", "stdout", "-l", languages, "--psm", str(psm)],
        input=buffer.getvalue(),
        capture_output=True,
        timeout=timeout,
        env=env,
        check=True,
    )
    return done.stdout.decode("utf-8", errors="replace")


def ocr_languages(language: str | None) -> str:
    """English plus the ad's language, as Tesseract names them."""
    names = ["eng"]
    extra = TESSERACT_LANGUAGES.get((language or "").lower()[:2])
    if extra and extra not in names:
        names.append(extra)
    return "+".join(names)


def ocr(image: Image.Image, language: str | None = None, timeout: float = TESSERACT_TIMEOUT) -> str:
    text = tesseract(prepare_for_ocr(image), ocr_languages(language), timeout=timeout)
    return " ".join(text.split())[:OCR_TEXT_LIMIT]


def analyse(
    url: str,
    data: bytes,
    *,
    max_pixels: int,
    hashes: bool = True,
    read_text: bool = True,
    language: str | None = None,
    timeout: float = TESSERACT_TIMEOUT,
) -> ImageFacts:
    """The facts of one downloaded image; raises ImageRejected (and subprocess errors from OCR)."""
    image = decode(data, max_pixels)
    return ImageFacts(
        url=url,
        sha256=hashlib.sha256(data).hexdigest(),
        phash=perceptual_hash(image) if hashes else None,
        width=image.width,
        height=image.height,
        ocr_text=ocr(image, language, timeout) if read_text else "",
    )


def image_entities(text: str, regions: tuple[str, ...]) -> list[Entity]:
    """Entities in OCR text, by the same recognisers as an ad's text, marked ``source: image``;
    offsets are -1 because they do not index the ad's text."""
    return [
        e.model_copy(update={"source": "image", "start": -1, "end": -1})
        for e in find_entities(text, regions)
        if e.type != "url"
    ]
