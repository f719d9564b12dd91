"""Generated ad images for the image tests and bench/images.py: phone numbers drawn in Debian's
DejaVu fonts (several fonts, sizes, colours, backgrounds, rotations, JPEG qualities), and synthetic
textured "photos" with the transformed copies a reposter makes (resized, cropped, recompressed,
watermarked). Everything is seeded, so every run measures the same images.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
)
# (text colour, background colour): dark on light, light on dark, and coloured on coloured.
COLOURS = (
    ((0, 0, 0), (255, 255, 255)),
    ((255, 255, 255), (0, 0, 0)),
    ((255, 255, 0), (200, 0, 90)),
    ((20, 20, 120), (255, 200, 220)),
    ((255, 255, 255), (220, 40, 40)),
    ((0, 90, 0), (230, 255, 200)),
    ((255, 230, 0), (30, 30, 160)),
)
# (number as printed, region of the board, E.164 the recogniser must give)
PHONES = (
    ("0612345678", "NL", "+31612345678"),
    ("06-12 34 56 78", "NL", "+31612345678"),
    ("+31 6 87654321", "NL", "+31687654321"),
    ("0151 1234 5678", "DE", "+4915112345678"),
    ("+49 176 98765432", "DE", "+4917698765432"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("07 98 76 54 32", "FR", "+33798765432"),
    ("07400 123456", "GB", "+447400123456"),
    ("+44 7911 123456", "GB", "+447911123456"),
    ("0176 5551234", "DE", "+491765551234"),
)
CAPTIONS = ("Call me", "WhatsApp", "Tel:", "Anrufen", "Bel me", "Appelle-moi", "", "SMS")


@dataclass
class PhoneImage:
    data: bytes
    region: str
    expected: str
    description: str


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def phone_image(
    printed: str,
    caption: str,
    font: str,
    size: int,
    colours,
    angle: float,
    quality: int,
    gradient: bool = False,
) -> bytes:
    """One banner: optional caption above the number, on a plain or gradient background."""
    ink, paper = colours
    face = ImageFont.truetype(str(FONT_DIR / font), size)
    lines = [line for line in (caption, printed) if line]
    boxes = [face.getbbox(line) for line in lines]
    width = max(b[2] - b[0] for b in boxes) + 2 * size
    height = sum(b[3] - b[1] for b in boxes) + (len(lines) + 1) * size // 2 + size
    canvas = Image.new("RGB", (width, height), paper)
    if gradient:
        ramp = np.linspace(0.75, 1.15, width)[None, :, None]
        pixels = np.clip(np.asarray(canvas, dtype=np.float32) * ramp, 0, 255).astype(np.uint8)
        canvas = Image.fromarray(pixels)
    draw = ImageDraw.Draw(canvas)
    y = size // 2 + size // 4
    for line, box in zip(lines, boxes, strict=True):
        draw.text((size, y - box[1]), line, font=face, fill=ink)
        y += box[3] - box[1] + size // 2
    if angle:
        canvas = canvas.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=paper)
    return jpeg(canvas, quality) if quality else png(canvas)


def phone_images(count: int = 60, seed: int = 17) -> list[PhoneImage]:
    """``count`` banners cycling through every font, colour pair and number, with random size,
    rotation (up to ±12°), gradient and JPEG quality (40-95, or PNG)."""
    rng = random.Random(seed)
    samples = []
    for n in range(count):
        printed, region, expected = PHONES[n % len(PHONES)]
        font = FONTS[n % len(FONTS)]
        colours = COLOURS[n % len(COLOURS)]
        size = rng.choice((14, 18, 22, 28, 36, 48))
        angle = rng.choice((0, 0, 3, -4, 7, -9, 12))
        quality = rng.choice((0, 40, 60, 75, 95))
        gradient = rng.random() < 0.3
        caption = rng.choice(CAPTIONS)
        samples.append(
            PhoneImage(
                phone_image(printed, caption, font, size, colours, angle, quality, gradient),
                region,
                expected,
                f"{printed!r} {font} {size}px colours={colours} angle={angle} q={quality} gradient={gradient}",
            )
        )
    return samples


def photo(seed: int, size: tuple[int, int] = (480, 640)) -> Image.Image:
    """A synthetic "photo": smooth random colour fields, blurred shapes and fine texture."""
    rng = np.random.default_rng(seed)
    height, width = size
    coarse = rng.random((6, 8, 3)) * 255
    base = Image.fromarray(coarse.astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(int(rng.integers(4, 9))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(40, 240)), y0 + int(rng.integers(40, 240))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
    base = base.filter(ImageFilter.GaussianBlur(3))
    grain = rng.normal(0, 12, (height, width, 1))
    return Image.fromarray(np.clip(np.asarray(base, dtype=np.float32) + grain, 0, 255).astype(np.uint8))


def watermark(image: Image.Image, text: str = "hotgirls.example") -> Image.Image:
    marked = image.convert("RGBA")
    layer = Image.new("RGBA", marked.size, (0, 0, 0, 0))
    face = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), max(12, marked.width // 18))
    ImageDraw.Draw(layer).text(
        (marked.width // 20, marked.height - marked.height // 8), text, font=face, fill=(255, 255, 255, 150)
    )
    return Image.alpha_composite(marked, layer).convert("RGB")


def transformed_copies(image: Image.Image, seed: int) -> list[tuple[str, bytes]]:
    """What reposting does to a photo: each (description, JPEG bytes)."""
    rng = random.Random(seed)
    width, height = image.size
    crop = rng.uniform(0.02, 0.04)
    box = (int(width * crop), int(height * crop), int(width * (1 - crop)), int(height * (1 - crop)))
    return [
        ("recompressed q=50", jpeg(image, 50)),
        ("resized to 50%", jpeg(image.resize((width // 2, height // 2), Image.Resampling.LANCZOS), 85)),
        ("resized to 150%", jpeg(image.resize((width * 3 // 2, height * 3 // 2), Image.Resampling.BICUBIC), 85)),
        (f"cropped {crop:.0%} each side", jpeg(image.crop(box), 85)),
        ("watermarked", jpeg(watermark(image), 85)),
        ("watermarked, resized to 75%, q=60",
         jpeg(watermark(image).resize((width * 3 // 4, height * 3 // 4), Image.Resampling.LANCZOS), 60)),
    ]  # fmt: skip


def photo_copies(count: int) -> list[tuple[int, str, bytes]]:
    """Photo n as (n, "original", JPEG q=90), then (n, description, bytes) for each of its
    transformed copies; for every n below ``count``."""
    items = []
    for n in range(count):
        original = photo(n)
        items += [
            (n, "original", jpeg(original, 90)),
            *((n, what, data) for what, data in transformed_copies(original, n)),
        ]
    return items


def match_figures(hashes: list[tuple[int, str, str]], distance: int) -> tuple[list[bool], list[tuple]]:
    """From (photo n, description, pHash) as ``photo_copies`` orders them: for each copy whether it
    is within ``distance`` bits of its original, and every pair of different photos (originals or
    copies) within ``distance`` bits: false matches."""
    from pipelines.images import hamming

    originals = {n: h for n, what, h in hashes if what == "original"}
    matched = [hamming(h, originals[n]) <= distance for n, what, h in hashes if what != "original"]
    false = [
        (n, m, what)
        for n, what, h in hashes
        for m, other in originals.items()
        if m != n and (what != "original" or m > n) and hamming(h, other) <= distance
    ]
    return matched, false
