"""E-mails (plain and obfuscated), handles, URLs, onions, and the shared normaliser."""

import base64
import hashlib

import pytest
from Crypto.Hash import SHA3_256

from vigil.core.entities import detect, find_entities, normalize
from vigil.core.entities.emails import find_emails
from vigil.core.entities.handles import find_handles
from vigil.core.entities.onions import find_onions, validate_v3

DDG_ONION = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"


def make_onion(seed: bytes) -> str:
    pubkey = hashlib.sha256(seed).digest()
    checksum = SHA3_256.new(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


@pytest.mark.parametrize(
    ("text", "expected", "obfuscated"),
    [
        ("mail: Anna.B@Gmail.com!", "anna.b@gmail.com", False),
        ("anna at gmail dot com", "anna@gmail.com", True),
        ("anna (at) gmail [dot] com", "anna@gmail.com", True),
        ("anna [at] mail (dot) yahoo (dot) co (dot) uk", "anna@mail.yahoo.co.uk", True),
        ("anna {at} web {punkt} de", "anna@web.de", True),
        ("anna (arroba) hotmail (punto) es", "anna@hotmail.es", True),
        ("anna (chez) orange (point) fr", "anna@orange.fr", True),
        ("anna (małpa) wp (kropka) pl", "anna@wp.pl", True),
        ("anna @ gmail dot com", "anna@gmail.com", True),
        ("anna@gmail dot com", "anna@gmail.com", True),
    ],
)
def test_emails(text, expected, obfuscated):
    found = list(find_emails(text))
    assert [(v, o) for _, _, v, o in found] == [(expected, obfuscated)]


@pytest.mark.parametrize(
    "text", ["I am at home tonight", "meet me at the hotel dot", "Taylorlay dot com", "100% me", "@ 5 pm"]
)
def test_email_false_positives(text):
    assert list(find_emails(text)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("telegram: @Sweet_Anna99", ["telegram:sweet_anna99"]),
        ("https://t.me/Sweet_Anna", ["telegram:sweet_anna"]),
        ("wa.me/31612345678", ["whatsapp:+31612345678"]),
        ("https://api.whatsapp.com/send?phone=31612345678", ["whatsapp:+31612345678"]),
        ("snap: lily.rose", ["snapchat:lily.rose"]),
        ("instagram.com/Foo_Bar", ["instagram:foo_bar"]),
        ("onlyfans.com/annie", ["onlyfans:annie"]),
        ("Threema: ABCD1234", ["threema:abcd1234"]),
        ("kik: baz_1", ["kik:baz_1"]),
        ("WeChat: lily88", ["wechat:lily88"]),
        ("signal.me/#p/+31612345678", ["signal:+31612345678"]),
        ("snap photos of me", []),
        ("whatsapp only", []),
        ("http://www.socialsex.com/dating/hook-up", []),
        ("viber: 0612345678", []),
    ],
)
def test_handles(text, expected):
    assert [h.value for h in find_handles(text)] == expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("Bel of WhatsApp: O6-12 34 56 78 (geen anonieme nummers)", "NL", ["whatsapp:+31612345678"]),
        ("escríbeme por WhatsApp al +34 612 345 678.", "ES", ["whatsapp:+34612345678"]),
        ("Whatsapp me 0612345678", "NL", ["whatsapp:+31612345678"]),
        ("WA: 0612345678", "NL", ["whatsapp:+31612345678"]),
        ("Signal +31612345678", None, ["signal:+31612345678"]),
        ("Viber/WhatsApp: +31612345678", None, ["viber:+31612345678", "whatsapp:+31612345678"]),
        ("Telegram or call 0612345678", "NL", []),
        ("Dzwoń: +48 600 123 456, wiadomości też na WhatsApp.", "PL", ["whatsapp:+48600123456"]),
        ("Sunați la 0722 123 456 sau WhatsApp.", "RO", ["whatsapp:+40722123456"]),
        ("Call 0611111111 or WhatsApp 0622222222", "NL", ["whatsapp:+31622222222"]),
        ("Telegram @dubai_jobs or call +971 50 123 4567.", None, ["telegram:dubai_jobs"]),
        ("Call 0612345678. WhatsApp me later", "NL", []),
        ("call +31612345678, bad signal here", None, []),
    ],
)
def test_a_number_next_to_a_messenger_is_also_its_handle(text, region, expected):
    assert [e.value for e in find_entities(text, region) if e.type == "handle"] == expected


def test_onion_v3_checksum():
    assert validate_v3(DDG_ONION) == DDG_ONION
    generated = make_onion(b"vigil")
    assert validate_v3(generated.upper()) == generated
    broken = generated[:10] + ("a" if generated[10] != "a" else "b") + generated[11:]
    assert validate_v3(broken) is None


def test_onion_v2_not_kept():
    assert validate_v3("expyuzz4wqqyqhjn.onion") is None
    assert list(find_onions("old expyuzz4wqqyqhjn.onion")) == []


def test_onions_found_in_text():
    text = f"mirror: http://{DDG_ONION.upper()}/login"
    assert [host for _, host in find_onions(text)] == [DDG_ONION]


@pytest.mark.parametrize(
    ("entity_type", "value", "region", "expected"),
    [
        ("phone", "06 12 34 56 78", "NL", "+31612345678"),
        ("phone", "+1 (205) 541-9574", None, "+12055419574"),
        ("email", " Anna@GMAIL.com ", None, "anna@gmail.com"),
        ("email", "not an email", None, None),
        ("wallet", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", None, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ("wallet", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", None, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        ("wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", None, None),
        ("handle", "Telegram:@Foo_Bar", None, "telegram:foo_bar"),
        ("handle", "https://t.me/Foo_Bar", None, "telegram:foo_bar"),
        ("handle", "@foo", None, None),
        ("handle", "viber:+31 6 12345678", None, "viber:+31612345678"),
        ("handle", "telegram:+31612345678", None, "telegram:+31612345678"),
        ("onion", f"http://{DDG_ONION.upper()}/x", None, DDG_ONION),
        ("url", "WWW.Example.com/a?b=2&a=1", None, "http://www.example.com/a?a=1&b=2"),
    ],
)
def test_normalize(entity_type, value, region, expected):
    assert normalize(entity_type, value, region) == expected


def test_normalize_unknown_type_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown entity type"):
        normalize("fax", "123")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+31 6 12345678", ("phone", "+31612345678")),
        ("Anna@Gmail.com", ("email", "anna@gmail.com")),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", ("wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")),
        ("t.me/foo_bar", ("handle", "telegram:foo_bar")),
        (DDG_ONION, ("onion", DDG_ONION)),
        ("https://example.com/x", ("url", "https://example.com/x")),
        ("hello", None),
        ("", None),
    ],
)
def test_detect(value, expected):
    assert detect(value) == expected


def test_find_entities_spans_point_into_text():
    text = (
        "Call 06-12345678, mail anna (at) gmail (dot) com, BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa, "
        f"tg: @anna_x, site https://example.com/?id=0612345678 and {DDG_ONION}"
    )
    entities = find_entities(text, "NL")
    kinds = [(e.type, e.value) for e in entities]
    assert ("phone", "+31612345678") in kinds
    assert ("email", "anna@gmail.com") in kinds
    assert ("wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa") in kinds
    assert ("handle", "telegram:anna_x") in kinds
    assert ("onion", DDG_ONION) in kinds
    assert sum(1 for e in entities if e.type == "phone") == 1
    for entity in entities:
        assert text[entity.start : entity.end] == entity.raw


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sc - lily_22", ["snapchat:lily_22"]),
        ("my snap is lilyx22", ["snapchat:lilyx22"]),
        ("add me on snapchat: lily22", ["snapchat:lily22"]),
        ("Snapchat lily22", ["snapchat:lily22"]),
        ("wechat id: lily88", ["wechat:lily88"]),
        ("IG @lily.rose", ["instagram:lily.rose"]),
        ("twitter @ lilyrose", ["twitter:lilyrose"]),
        ("X: @lily_x", ["twitter:lily_x"]),
        ("kik me lily_rose", ["kik:lily_rose"]),
        ("@lily22 on kik", ["kik:lily22"]),
        ("LINE ID: lily77", ["line:lily77"]),
        ("line.me/ti/p/~lily77", ["line:lily77"]),
        ("OnlyFans: lilyrose", ["onlyfans:lilyrose"]),
        ("sc: lilyrose22 ig: lilyr", ["snapchat:lilyrose22", "instagram:lilyr"]),
        ("mi snap es luci_bcn", ["snapchat:luci_bcn"]),
        ("mon snap c'est chloe_x, mein insta ist lena.b", ["snapchat:chloe_x", "instagram:lena.b"]),
        ("o meu insta é ines.lx", ["instagram:ines.lx"]),
        ("snap isabella", []),
        ("kik me tonight", []),
        ("standing in line at the shop", []),
        ("text me at x o'clock", []),
    ],
)
def test_handle_cues(text, expected):
    assert [h.value for h in find_handles(text)] == expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("anna (małpa) wp (kropka) pl", None, ("email", "anna@wp.pl")),
        ("anna {at} web {punkt} de", None, ("email", "anna@web.de")),
        ("MAIL: Anna.B@Gmail.com!", None, ("email", "anna.b@gmail.com")),
        ("see instagram.com/Anna_X for pics", None, ("handle", "instagram:anna_x")),
        ("TELEGRAM: @anna_x", None, ("handle", "telegram:anna_x")),
        ("pay to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa only", None, ("wallet", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")),
        (f"mirror at {DDG_ONION.upper()}", None, ("onion", DDG_ONION)),
        ("HXXPS://Example.com/ad", None, ("url", "https://example.com/ad")),
        ("WhatsApp 06-12345678", "NL", ("handle", "whatsapp:+31612345678")),
    ],
)
def test_the_scan_runs_every_finder_that_can_match(text, region, expected):
    """One Hyperscan pass picks the finders worth running (caseless, a superset of those that
    match): what each finder finds on its own is still found by the whole scan."""
    assert expected in [(e.type, e.value) for e in find_entities(text, region)]
