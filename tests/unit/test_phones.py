"""Phone extraction and de-obfuscation, per language and trick, and false positives."""

import phonenumbers
import pytest

from pipelines.regions import candidate_regions, country_region
from vigil.core.entities.phones import DIGIT_WORDS, find_phones, normalize_phone

LANGUAGE_INDEX = {"en": 0, "nl": 1, "de": 2, "fr": 3, "es": 4, "it": 5, "pl": 6, "ro": 7, "pt": 8}
WORDS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "nl": ["nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"],
    "de": ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"],
    "fr": ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"],
    "es": ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"],
    "it": ["zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"],
    "pl": ["zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć"],
    "ro": ["zero", "unu", "doi", "trei", "patru", "cinci", "șase", "șapte", "opt", "nouă"],
    "pt": ["zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove"],
}
REGION_OF = {"en": "GB", "nl": "NL", "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "pl": "PL", "ro": "RO", "pt": "PT"}


def national_mobile(region: str) -> tuple[str, str]:
    """(national digits, E.164) of phonenumbers' example mobile number for the region."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(c for c in national if c.isdigit())
    return digits, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164s(text, region):
    return [m.e164 for m in find_phones(text, region)]


def test_every_language_word_is_known():
    for words in WORDS.values():
        for digit, word in enumerate(words):
            assert word in DIGIT_WORDS[digit], word


@pytest.mark.parametrize("language", sorted(WORDS))
def test_digits_spelled_out(language):
    region = REGION_OF[language]
    digits, e164 = national_mobile(region)
    spelled = " ".join(WORDS[language][int(d)] for d in digits)
    found = list(find_phones(f"Tel.: {spelled} !", region))
    assert [m.e164 for m in found] == [e164]
    assert found[0].obfuscated


@pytest.mark.parametrize("language", ["en", "de", "es"])
def test_digits_partly_spelled_with_slashes(language):
    region = REGION_OF[language]
    digits, e164 = national_mobile(region)
    mixed = "/".join(WORDS[language][int(d)] if i % 2 else d for i, d in enumerate(digits))
    assert e164s(mixed, region) == [e164]


def test_plain_formats_are_not_obfuscated():
    found = list(find_phones("Call (256)-399-2333 or 404.563.5109 now", "US"))
    assert [m.e164 for m in found] == ["+12563992333", "+14045635109"]
    assert not any(m.obfuscated for m in found)
    assert found[0].raw == "(256)-399-2333"


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("❤626❤ 757❤ 8225❤", "US", "+16267578225"),
        ("2o9╚»430╚»9028 Carmen", "US", "+12094309028"),
        ("O6 l2345678", "NL", "+31612345678"),
        ("06-l2345678 bellen", "NL", "+31612345678"),
        ("o6 12 34 56 78", "NL", "+31612345678"),
        ("0612 3456 7O", "NL", "+31612345670"),
        ("６２６７５７８２２５", "US", "+16267578225"),
        ("6️⃣2️⃣6️⃣7️⃣5️⃣7️⃣8️⃣2️⃣2️⃣5️⃣", "US", "+16267578225"),
        ("6⃣2⃣6⃣7⃣5⃣7⃣8⃣2⃣2⃣5⃣", "US", "+16267578225"),
        ("06 ★ 12 ★ 34 ★ 56 ★ 78", "NL", "+31612345678"),
        ("(619) three/5/nine/seven/6/zero/four", "US", "+16193597604"),
        ("𝟎𝟔𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "NL", "+31612345678"),
    ],
)
def test_obfuscations(text, region, expected):
    found = list(find_phones(text, region))
    assert [m.e164 for m in found] == [expected]
    assert found[0].obfuscated


def test_international_numbers_need_no_region():
    assert e164s("WhatsApp +31 6 12345678", None) == ["+31612345678"]
    assert e164s("WhatsApp 0031 6 12345678", None) == ["+31612345678"]
    assert e164s("06 12345678", None) == []


def test_two_numbers_in_one_chain_are_split():
    assert e164s("call 951-322-0078 / 951-345-3343", "US") == ["+19513220078", "+19513453343"]


@pytest.mark.parametrize(
    "text",
    [
        "rgb(17, 85, 204)",
        "RUBS:60hh/100wh COMBOS:120hh/200wh",
        "DONATIONS: 140/30, 200/60",
        "posted 2013-11-03 00:00:00.0",
        "am 03.11.2013 um 20:00",
        "36D-28-38, 5'9, 130lbs",
        "color: #ff0000; #336699",
        "Preis: 150,00 € / 1 Std, 300,00 € / 2 Std",
        "Postcode 1012 AB Amsterdam, 10115 Berlin",
        "id=1412716657000",
    ],
)
@pytest.mark.parametrize("region", ["US", "NL", "DE", "GB"])
def test_false_positives(text, region):
    assert e164s(text, region) == []


def test_digits_inside_excluded_spans_are_ignored():
    text = "see http://x.com/a?id=2055419574 ok"
    start = text.index("http")
    assert list(find_phones(text, "US", exclude=[(start, start + 33)])) == []


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("+31 6 12345678", None, "+31612345678"),
        ("06-12345678", "NL", "+31612345678"),
        ("06-12345678", "nl", "+31612345678"),
        ("(205) 541-9574", "US", "+12055419574"),
        ("six one nine three five nine seven six zero four", "US", "+16193597604"),
        ("12345", "US", None),
        ("not a phone", "US", None),
    ],
)
def test_normalize_phone(value, region, expected):
    assert normalize_phone(value, region) == expected


def test_comma_pauses_between_spelled_digits():
    found = list(find_phones("Call or text: zero seven nine one one, one two three four five six.", "GB"))
    assert [m.e164 for m in found] == ["+447911123456"]
    assert found[0].obfuscated and found[0].raw.endswith("six")
    assert e164s("07911, 123456", "GB") == []


@pytest.mark.parametrize(
    ("text", "regions", "expected"),
    [
        ("Bel: O6-12 34 56 78", ("GB", "NL", "BE"), "+31612345678"),
        ("Telefon 0151 / 234 567 89", ("GB", "DE", "AT", "CH"), "+4915123456789"),
        ("Appelez au 06.12.34.56.78", ("GB", "FR", "BE"), "+33612345678"),
        ("Chiamami al 333 123 4567", ("GB", "IT"), "+393331234567"),
        ("Sunați la 0722 123 456", ("GB", "RO"), "+40722123456"),
        ("Call (205) 541-9574", ("GB", "US", "IE"), "+12055419574"),
        ("Call 07911 123456", ("GB", "US", "IE"), "+447911123456"),
    ],
)
def test_national_numbers_are_read_in_the_first_region_where_they_are_valid(text, regions, expected):
    assert e164s(text, regions) == [expected]
    assert e164s(text, regions[:1]) == ([expected] if regions[0] == "GB" and expected.startswith("+44") else [])


def test_the_first_candidate_region_wins():
    assert normalize_phone("0612345678", ["NL", "FR"]) == "+31612345678"
    assert normalize_phone("0612345678", ["FR", "NL"]) == "+33612345678"
    assert normalize_phone("0612345678", []) is None


def test_candidate_regions_put_the_country_first_then_the_language():
    assert candidate_regions("GB", "nl") == ("GB", "NL", "BE")
    assert candidate_regions("uk", "en") == ("GB", "US", "IE")
    assert candidate_regions(None, "de") == ("DE", "AT", "CH")
    assert candidate_regions("FR", None) == ("FR",)
    assert candidate_regions("XYZ", "xx") == ()
    assert country_region(" el ") == "GR" and country_region("1") is None


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("call sevenfive3 2one2 4567", "US", "+17532124567"),
        ("SeVeN zErO tWo 555 1234", "US", "+17025551234"),
        ("sixonenine threefivenine sevensixzerofour", "US", "+16193597604"),
        ("7 oh 2 five five five 1 to 3 4", "US", "+17025551234"),
        ("oh seven nine one one ate for too three for five six", "GB", "+447911842345"),
        ("seven hundred two, five hundred fifty five, twelve thirty four", "US", "+17025551234"),
        ("seven hundred and two five five five one two three four", "US", "+17025551234"),
        ("555 2 thousand", "US", None),
        ("702 555 2 thousand", "US", "+17025552000"),
        ("zero six douze trente-quatre cinquante-six soixante-dix-huit", "FR", "+33612345678"),
        ("nul zes - twaalf vierendertig zesenvijftig achtenzeventig", "NL", "+31612345678"),
        ("null eins fünf eins, dreiundzwanzig, fünfundvierzig, siebenundsechzig, neunundachtzig", "DE", "+4915123456789"),
        ("seis uno dos, treinta y cuatro, cincuenta y seis, setenta y ocho", "ES", "+34612345678"),
        ("(7)(0)(2)(5)(5)(5)(1)(2)(3)(4)", "US", "+17025551234"),
        ("{7one2}{555}{12three4}", "US", "+17125551234"),
        ("[[702]] [[555]] [[1234]]", "US", "+17025551234"),
        ("702;555;1234", "US", "+17025551234"),
        ("702=555=1234", "US", "+17025551234"),
        ("702$555$1234", "US", "+17025551234"),
        ("702!555!1234", "US", "+17025551234"),
        ("702@555@1234", "US", "+17025551234"),
        ("702~555~1234", "US", "+17025551234"),
        ("702\\_555\\_1234", "US", "+17025551234"),
        ("702***555***1234", "US", "+17025551234"),
        ("0049=151=23456789", "US", "+4915123456789"),
        ("0044 7911 123456", "US", "+447911123456"),
        ("+49 (0)151 2345 6789", None, "+4915123456789"),
        ("31612345678", "NL", "+31612345678"),
        ("702\n555 1234", "US", "+17025551234"),
        ("(11) 91234-5678", ("PT", "BR"), "+5511912345678"),
    ],
)
def test_obfuscation_classes(text, region, expected):
    assert e164s(text, region) == ([expected] if expected else [])


def test_an_international_prefix_is_never_read_as_a_national_number():
    assert e164s("0049=151=2345", "US") == []
    assert e164s("+99 702 555 1234", "US") == []


@pytest.mark.parametrize(
    "text",
    [
        "Age: 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40",
        "1 2 3 4 5 6 7 8 9 10 11 12 Next",
        "Rates 150 200 250 300 350 400",
        "Size 34 36 38 40 42 44",
        "2013 2014 2015 2016 2017",
        "posted 12/05/2016 at 10:30, updated 2016-05-13 22:15",
        "$150 $200 $250 $300",
        "150$ 200$ 250$ 300$",
        "5'4 34D-23-35 120lbs",
        "36-24-36, 5'6\", 125 lbs, 165 cm",
        "Post ID: 2125551234",
        "ad id 7025551234, ref #7025551234",
        "see site.com/ads/2125551234.html",
        "Call between 9 to 5 for 2 hours",
    ],
)
@pytest.mark.parametrize("region", ["US", "GB", "DE", "NL", "IT"])
def test_decoys_are_not_phones(text, region):
    assert e164s(text, region) == []


def test_homophones_count_only_in_digit_context():
    assert e164s("text to 702 555 1234 for fun", "US") == ["+17025551234"]
    assert e164s("24/7 for 702-555-1234", "US") == ["+17025551234"]
    assert e164s("I want to go for a walk at eight", "US") == []


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("sx1nne.3svn3.3nne1one", "US", "+16193733911"),
        ("s3ven 0 tw0 f1ve f1ve f1ve 0ne tw0 thr33 f0ur", "US", "+17025551234"),
        ("53v3n-z3r0-2 fiv3 5 5 on3 2 thre3 4", "US", "+17025551234"),
        ("tre1noveseisetteotto17seitre", "IT", "+393196781763"),
    ],
)
def test_leetspeak_and_misspelled_number_words(text, region, expected):
    assert e164s(text, region) == [expected]


@pytest.mark.parametrize("text", ["call 3rd 4th 10am mp3 h3ll0 covid19 34D", "7o 2nite b4 gr8 x264"])
def test_words_with_digits_are_not_numbers(text):
    assert e164s(text, ("US", "GB", "NL")) == []


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("3 hundred 5 four 1 2 seventy seven eighty nine", "US", "+13054127789"),
        ("212 nine hundred seventy four 8 thousand 1 hundred 30", "US", "+12129748130"),
        ("seiscientos doce trescientos cuarenta y cinco seiscientos setenta y ocho", "ES", "+34612345678"),
        ("seis quinientos cuarenta y cinco doscientos diez y siete ochenta", "ES", None),
        ("nove doze trezentos e quarenta e cinco seiscentos e setenta e oito", "PT", "+351912345678"),
        ("pięćset dwanaście trzysta czterdzieści pięć sześćset siedemdziesiąt osiem", "PL", "+48512345678"),
        ("zero șapte sute douăzeci și doi o sută douăzeci și trei patru sute cincizeci și șase", "RO", "+40722123456"),
        ("tre quattro sette, cento ventitré, quattro cinque sei sette", "IT", "+393471234567"),
    ],
)
def test_hundreds_in_every_language_and_digits_after_a_magnitude(text, region, expected):
    """Whole-hundred words ("seiscientos", "trezentos", "trzysta", "șapte sute", "o sută") are values
    of their own, never multiplied by the number before them; one or two digits after a magnitude
    complete it ("3 hundred 5" = 305)."""
    assert e164s(text, region) == ([expected] if expected else [])


def test_german_and_dutch_tens_do_not_take_a_following_digit():
    """Units come first in German and Dutch ("einundsiebzig"): "siebzig eins" is 70 then 1."""
    assert e164s("null einhundertsiebzig eins zwei drei vier fünf sechs sieben", "DE") == ["+491701234567"]
    assert e164s("nul zes twintig een twee drie vier vijf zes", "NL") == ["+31620123456"]
    assert e164s("seven oh two three eighty six forty four seventeen", "US") == ["+17023864417"]


def test_a_glued_country_code_of_a_region_sharing_it_is_read():
    """+44 7911 … is Guernsey's in phonenumbers' metadata: still a GB board's number."""
    assert e164s("call 447911123456", "GB") == ["+447911123456"]
    assert e164s("call 447911123456", "US") == []
