"""Text extraction: main text, title, metadata, price, date, location, images, language."""

import time
from datetime import UTC, datetime

import pytest

from pipelines.dates import parse_date
from pipelines.language import detect_language
from pipelines.locations import find_location
from pipelines.metadata import extract_metadata
from pipelines.prices import find_price, parse_price
from pipelines.text import clean_text, fix_mojibake, fragment_to_text, image_urls, main_text, parse, title

PAGE = """<html><head><title>Anna - Escorts Amsterdam - SiteName</title>
<meta property="og:title" content="Anna in Amsterdam">
<meta property="og:image" content="/img/og.jpg">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "Anna",
 "offers": {"@type": "Offer", "price": "150", "priceCurrency": "EUR"}, "datePosted": "2026-11-20T10:00:00Z"}
</script><style>body{color:#ff0000}</style></head>
<body><nav><a href="/">Home</a> <a href="/cat">Categories</a></nav>
<h1>Anna, 23, new in Amsterdam</h1>
<div class="ad">Hello, I am Anna.<br>Call me on 06 12345678<br>Kisses</div>
<img src="/photos/1.jpg"><img src="data:image/png;base64,AAAA">
<footer>Copyright</footer></body></html>"""


def test_main_text_title_images_and_metadata():
    tree = parse(PAGE)
    metadata = extract_metadata(PAGE, "https://site.example/ad/1")
    text = main_text(PAGE, tree)
    assert "Call me on 06 12345678" in text and "color" not in text
    assert title(tree, metadata) == "Anna, 23, new in Amsterdam"
    assert metadata["price"] == "150" and metadata["priceCurrency"] == "EUR"
    assert image_urls(tree, "https://site.example/ad/1", metadata) == [
        "https://site.example/img/og.jpg",
        "https://site.example/photos/1.jpg",
    ]


def test_mojibake_is_repaired_run_by_run():
    assert fix_mojibake("Kamoraâ™¥â™¥ call") == "Kamora♥♥ call"
    assert fix_mojibake("espaÃ±ol y más") == "español y más"
    assert fix_mojibake("plain ascii and café") == "plain ascii and café"


def test_fragment_keeps_line_breaks_and_entities():
    assert fragment_to_text("a<br />b</p><p>c &amp; d&#10084;") == "a\nb\nc & d❤"
    assert clean_text("x\r\ny\x00") == "x\ny"


def test_prices():
    assert parse_price("€ 150,00").amount == 150.0
    assert parse_price("€ 150,00").currency == "EUR"
    price = find_price(None, {}, "Rates: 40$ special right now")
    assert price.amount == 40.0 and price.currency == "USD"
    assert find_price("200 zł", {}, "").currency == "PLN"
    assert find_price(None, {"price": "99", "priceCurrency": "GBP"}, "").currency == "GBP"
    assert find_price(None, {}, "no price here") is None


def test_dates_are_relative_to_fetch_time():
    fetched = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_date("2 hours ago", fetched) == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert parse_date("gestern", fetched, "de").date() == datetime(2026, 11, 27).date()
    assert parse_date("2013-11-03 00:00:00.0", fetched).year == 2013
    assert parse_date("not a date at all", fetched) is None


def test_location():
    assert find_location(" Amsterdam  Centrum ", {}, "") == "Amsterdam Centrum"
    assert find_location(None, {"addressLocality": "Utrecht", "addressCountry": "NL"}, "") == "Utrecht, NL"
    assert find_location(None, {}, "Hello\nLocation: San Gabriel Valley\nbye") == "San Gabriel Valley"
    assert find_location(None, {}, "no place") is None


def test_language():
    assert detect_language("Hallo, ik ben nieuw in de stad en heel lief, bel me snel") == "nl"
    assert detect_language("Hallo, ich bin neu in der Stadt und sehr lieb, ruf mich an") == "de"
    assert detect_language("hi", "FR") == "fr"
    assert detect_language("", None) is None


def test_bidi_and_zero_width_characters_are_removed():
    spoof = "photo\u202egpj.exe call 0151\u200b1234\u200d5678 \u2066isolated\u2069 \ufeffbom \u200fmark\u061c soft\u00adhyphen"
    cleaned = clean_text(spoof)
    assert cleaned == "photogpj.exe call 015112345678 isolated bom mark softhyphen"
    assert clean_text("&#x202E;evil&#8203;") == "evil"  # entities are unescaped first, then removed
    assert clean_text("Arabic \u0645\u0631\u062d\u0628\u0627 and emoji \U0001F600 stay") == (
        "Arabic \u0645\u0631\u062d\u0628\u0627 and emoji \U0001F600 stay"
    )


def test_main_text_is_the_ad_block_not_the_related_ads_or_the_sidebar():
    related = "".join(f'<li><a href="/ad/{i}">Related ad {i}</a> <span>{i} hours ago</span></li>' for i in range(30))
    ad = "Hi, I am Mia, new in town. Call me on 06 12345678.<br>Kisses and see you soon, gentlemen!"
    page = (
        f"<html><body><div id=wrap><nav>{'<a href=/c>Category</a> ' * 20}</nav><ul class=related>{related}</ul>"
        f"<div class=ad><h1>Mia</h1><div class=desc>{ad}</div><div class=details>Rates: 150 per hour, "
        "incall only, in the city centre</div></div><div class=copyright>Copyright. Adults only.</div></div>"
        "<script>var x = 1;</script></body></html>"
    )
    text = main_text(page, parse(page))
    assert "Call me on 06 12345678" in text and "Rates: 150 per hour" in text
    assert "hours ago" not in text and "Category" not in text and "Copyright" not in text


def test_main_text_of_a_page_with_too_many_blocks_is_bounded():
    page = "<html><body>" + "<div><p>filler text here</p></div>" * 3000 + "<div>Call 0612345678</div></body></html>"
    assert "0612345678" in main_text(page, parse(page))


@pytest.mark.parametrize(
    "page",
    [
        "<div>" * 399 + "Call 0612345678 " + "<a href=/x>link</a>" * 3000 + "</div>" * 399,
        "<div>" + "<span>" * 5000 + "<div>Call 0612345678</div>" * 300 + "</span>" * 5000 + "</div>",
        "<div>" * 30 + ("<div>Call 0612345678 " + "<a href=/x>link</a>" * 100 + "</div>") * 300 + "</div>" * 30,
    ],
)
def test_main_text_of_hostile_nesting_is_bounded(page):
    started = time.process_time()
    assert "0612345678" in main_text(page, parse(page))
    assert time.process_time() - started < 5
