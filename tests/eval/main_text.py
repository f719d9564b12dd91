"""Main-text extraction on labelled pages: each known ad (the fixture board's, and the DIG sample's
when present) laid out in six page layouts of ad sites (a bench-like page with related ads and
scripts, an <article> board, a wrapper with header, sidebar and copyright blocks, a table layout,
loose <br> text, an ad split over two blocks). Gold: the ad's words; recall is the share of them
extracted, precision the share of extracted words that are the ad's or its title's.
trafilatura alone is measured on the same pages for reference.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import trafilatura
import yaml

from pipelines.text import clean_text, main_text, parse

BOARD = Path(__file__).resolve().parents[1] / "fixture_site" / "ads.yaml"
FLOOR = {"recall": 0.97, "precision": 0.85}
_WORD_RE = re.compile(r"\w+")
_NAV = "".join(f'<a href="/c/{i}">City {i}</a> ' for i in range(30))
_RELATED = "".join(f'<li><a href="/ad/{i}">Related ad {i} hot new girls</a> <span>{i} hours ago</span></li>' for i in range(25))
_FILLER = "<script>var tracking = {" + ",".join(f"k{i}: {i}" for i in range(400)) + "};</script>"


def _lines(text: str) -> list[str]:
    return [html.escape(line) for line in text.splitlines() if line.strip()]


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


def layouts(title: str, text: str) -> Iterator[tuple[str, str]]:
    """(layout name, page) for one ad."""
    t, lines = html.escape(title), _lines(text)
    half = max(1, len(lines) // 2)
    head = f"<html><head><title>{t} - board</title></head><body>"
    yield "bench", (
        f"{head}<nav>{_NAV}</nav><ul class=related>{_RELATED}</ul><div class=ad><h1>{t}</h1>"
        f"<div class=body>{'<br>'.join(lines)}</div><div class=posted>2026-11-20</div></div>{_FILLER}"
        f"<footer>{'Terms of use. Privacy. ' * 900}</footer></body></html>"
    )
    yield "article", (
        f"{head}<h1>Classifieds</h1><nav><ul>{_NAV}</ul></nav><article class=ad><h1>{t}</h1><div class=meta>"
        f"<span class=price>$150</span><span>Manchester</span><time datetime=2025-11-20>2025-11-20</time></div>"
        f"<div class=description>{_paragraphs(lines)}</div><a class=back href=/c>Back to the listing</a></article>"
        "<footer><ul><li>Terms</li></ul></footer></body></html>"
    )
    yield "wrapper", (
        f"{head}<div id=wrap><div id=header><div class=logo>EscortBoard</div>{_NAV}</div><div id=main><h1>{t}</h1>"
        f"<div class=posttext>{'<br>'.join(lines)}</div><div class=postinfo>Posted: Nov 20 Post ID: 5538152</div></div>"
        f"<div id=sidebar><h3>Popular cities</h3><ul>{_RELATED}</ul><p>Advertise with us and reach more clients today.</p></div>"
        "<div class=copyright>Copyright 2013 EscortBoard. All rights reserved. Must be 18 or older to view this site. "
        "We do not condone illegal activity.</div></div></body></html>"
    )
    yield "table", (
        f"{head}<table><tr><td class=left>{_NAV}</td><td class=content><b>{t}</b><br>{'<br>'.join(lines)}</td></tr>"
        "<tr><td colspan=2>Disclaimer: this site is a venue for adults only. By using it you agree to the terms.</td>"
        "</tr></table></body></html>"
    )
    yield "loose", f"{head}<h1>{t}</h1>{'<br>'.join(lines)}<ul class=related>{_RELATED}</ul></body></html>"
    yield "split", (
        f"{head}<div class=page><div class=menu>{_NAV}</div><div class=ad><h2>{t}</h2>"
        f"<div class=desc>{_paragraphs(lines[:half])}</div><div class=details>{_paragraphs(lines[half:])}</div></div>"
        f"<div class=rel><ul>{_RELATED}</ul></div></div></body></html>"
    )


def labelled_ads(dig: Path) -> list[tuple[str, str]]:
    board = [(ad["title"], ad["body"]) for ad in yaml.safe_load(BOARD.read_text(encoding="utf-8")) if ad.get("body")]
    sample = dig / "ads-sample.json"
    if sample.exists():
        board += [(ad["title"], clean_text(ad["text"])) for ad in json.loads(sample.read_text(encoding="utf-8"))]
    return board


def _words(text: str) -> set[str]:
    return set(_WORD_RE.findall(text.lower()))


def _trafilatura(page: str) -> str:
    return trafilatura.extract(page, favor_recall=True, include_comments=False, include_tables=True) or ""


def measure(dig: Path) -> list[str]:
    """Prints recall and precision per layout and in all; returns the floors not met."""
    ads = labelled_ads(dig)
    counts: dict[tuple[str, str], list[int]] = {}
    for title, text in ads:
        gold, allowed = _words(text), _words(text) | _words(title)
        for layout, page in layouts(title, text):
            for extractor, extract in (("vigil", lambda p: main_text(p, parse(p))), ("trafilatura alone", _trafilatura)):
                found = _words(extract(page))
                for key in ((layout, extractor), ("all", extractor)):
                    tally = counts.setdefault(key, [0, 0, 0, 0])
                    tally[0] += len(gold & found)
                    tally[1] += len(gold)
                    tally[2] += len(found & allowed)
                    tally[3] += len(found)
    print(f"main text ({len(ads)} labelled ads x 6 page layouts; words of the ad found / extracted words that are the ad's):")
    failed = []
    for (layout, extractor), (hit, total, kept, extracted) in sorted(counts.items()):
        recall, precision = hit / max(1, total), kept / max(1, extracted)
        print(f"  {layout:8} {extractor:18} recall {recall:.3f}   precision {precision:.3f}")
        if (layout, extractor) == ("all", "vigil"):
            failed += [f"main text: {name} {value:.3f} < {FLOOR[name]}" for name, value in
                       (("recall", recall), ("precision", precision)) if value < FLOOR[name]]  # fmt: skip
    return failed
