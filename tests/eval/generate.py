"""Write the project's labelled extraction sets (tests/eval/data/*.jsonl), deterministically.

    python tests/eval/generate.py        # rewrites the files; the seed is fixed

Each phone item is a random *valid* mobile number of a region (phonenumbers metadata), written
the way one obfuscation class writes it, inside a short sentence in the region's language. Ads
carry a name, a stated age, handles and a phone; decoys carry number runs, dates, times, prices,
measurements, post ids and URL ids, mostly without any phone. Nothing here is copied from any
third-party data set. The generator writes by class rules, so the harness measures classes; the
recogniser's own tables are not imported.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import phonenumbers

DATA = Path(__file__).resolve().parent / "data"
SEED = 14

REGIONS = {"en": ("US", "GB"), "nl": ("NL",), "de": ("DE",), "fr": ("FR",), "es": ("ES",), "it": ("IT",),
           "pl": ("PL",), "ro": ("RO",), "pt": ("PT", "BR")}  # fmt: skip
DIGITS = {
    "en": "zero one two three four five six seven eight nine",
    "nl": "nul een twee drie vier vijf zes zeven acht negen",
    "de": "null eins zwei drei vier fünf sechs sieben acht neun",
    "fr": "zéro un deux trois quatre cinq six sept huit neuf",
    "es": "cero uno dos tres cuatro cinco seis siete ocho nueve",
    "it": "zero uno due tre quattro cinque sei sette otto nove",
    "pl": "zero jeden dwa trzy cztery pięć sześć siedem osiem dziewięć",
    "ro": "zero unu doi trei patru cinci șase șapte opt nouă",
    "pt": "zero um dois três quatro cinco seis sete oito nove",
}
DIGITS = {lang: words.split() for lang, words in DIGITS.items()}
TEENS = {
    "en": "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen",
    "nl": "tien elf twaalf dertien veertien vijftien zestien zeventien achttien negentien",
    "de": "zehn elf zwölf dreizehn vierzehn fünfzehn sechzehn siebzehn achtzehn neunzehn",
    "fr": "dix onze douze treize quatorze quinze seize dix-sept dix-huit dix-neuf",
    "es": "diez once doce trece catorce quince dieciséis diecisiete dieciocho diecinueve",
    "it": "dieci undici dodici tredici quattordici quindici sedici diciassette diciotto diciannove",
    "pl": "dziesięć jedenaście dwanaście trzynaście czternaście piętnaście szesnaście siedemnaście osiemnaście dziewiętnaście",
    "ro": "zece unsprezece doisprezece treisprezece paisprezece cincisprezece șaisprezece șaptesprezece optsprezece nouăsprezece",
    "pt": "dez onze doze treze catorze quinze dezesseis dezessete dezoito dezenove",
}
TEENS = {lang: words.split() for lang, words in TEENS.items()}
TENS = {
    "en": "twenty thirty forty fifty sixty seventy eighty ninety",
    "nl": "twintig dertig veertig vijftig zestig zeventig tachtig negentig",
    "de": "zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig",
    "fr": "vingt trente quarante cinquante soixante - quatre-vingt -",
    "es": "veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa",
    "it": "venti trenta quaranta cinquanta sessanta settanta ottanta novanta",
    "pl": "dwadzieścia trzydzieści czterdzieści pięćdziesiąt sześćdziesiąt siedemdziesiąt osiemdziesiąt dziewięćdziesiąt",
    "ro": "douăzeci treizeci patruzeci cincizeci șaizeci șaptezeci optzeci nouăzeci",
    "pt": "vinte trinta quarenta cinquenta sessenta setenta oitenta noventa",
}
TENS = {lang: words.split() for lang, words in TENS.items()}
CALL = {
    "en": ["Call me {x}", "Text or call: {x}", "Incall/outcall, call {x} now", "My number is {x}, no blocked calls"],
    "nl": ["Bel me: {x}", "Bel of sms {x}", "Mijn nummer is {x}, geen anonieme nummers"],
    "de": ["Ruf mich an: {x}", "Telefon {x}, keine SMS", "Erreichbar unter {x}"],
    "fr": ["Appelle-moi au {x}", "Mon numéro : {x}, pas de numéros masqués", "Contact {x}"],
    "es": ["Llámame al {x}", "Mi número es {x}, sin números ocultos", "Contacto {x}"],
    "it": ["Chiamami al {x}", "Il mio numero è {x}", "Contatto {x}, no anonimi"],
    "pl": ["Zadzwoń: {x}", "Mój numer to {x}", "Kontakt {x}, bez zastrzeżonych"],
    "ro": ["Sună-mă la {x}", "Numărul meu este {x}", "Contact {x}"],
    "pt": ["Liga para {x}", "O meu número é {x}", "Contato {x}"],
}
FILLER = {
    "en": ["Sweet and discreet, new pics.", "Upscale companion, generous gentlemen only.", "Relaxing massage by appointment."],
    "nl": ["Lieve dame, discreet adres.", "Ontspannende massage op afspraak."],
    "de": ["Diskrete Dame, privat.", "Entspannende Massage nach Termin."],
    "fr": ["Femme discrète, rendez-vous privé.", "Massage relaxant sur rendez-vous."],
    "es": ["Chica discreta, piso privado.", "Masaje relajante con cita."],
    "it": ["Ragazza discreta, ambiente riservato.", "Massaggio rilassante su appuntamento."],
    "pl": ["Dyskretna pani, prywatnie.", "Relaksujący masaż po umówieniu."],
    "ro": ["Doamnă discretă, locație privată.", "Masaj relaxant cu programare."],
    "pt": ["Senhora discreta, local privado.", "Massagem relaxante com marcação."],
}
HOMOPHONES = {"0": ["oh", "Oh", "OH"], "2": ["to", "too"], "4": ["for", "fore"], "8": ["ate"]}
SEPARATORS = [";", "=", "$", "!", "@", "~", "\\_", "***", "**", " ; ", " = ", "~~", "!!", " @ ", "_", "#"]
# the first unit of a number can hold a "00" prefix; separators are picked per item


def random_mobile(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    for _ in range(200):
        keep = rng.randint(2, 3)
        candidate = national[:keep] + "".join(rng.choice("0123456789") for _ in national[keep:])
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number) and not _has_run(candidate):
            return number
    raise RuntimeError(region)


def _has_run(digits: str) -> bool:
    return any(digits[i : i + 4] in "0123456789" for i in range(len(digits) - 3))


def national_digits(number: phonenumbers.PhoneNumber) -> str:
    return "".join(ch for ch in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL) if ch.isdigit())


def groups(digits: str, rng: random.Random) -> list[str]:
    """Cut a digit string the way people write it: groups of 2-4."""
    out, i = [], 0
    while i < len(digits):
        size = rng.choice((2, 3, 3, 4))
        if len(digits) - (i + size) == 1:
            size += 1
        out.append(digits[i : i + size])
        i += size
    return out


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def case(word: str, rng: random.Random) -> str:
    return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in word)


def spell_pair(pair: str, lang: str) -> str:
    """A two-digit group as a number word (10-99), digit by digit when it starts with 0."""
    value = int(pair)
    if pair.startswith("0") or value < 10:
        return " ".join(DIGITS[lang][int(d)] for d in pair)
    if value < 20:
        return TEENS[lang][value - 10]
    tens, unit = divmod(value, 10)
    if lang == "fr":
        if tens in (7, 9):
            base = "soixante" if tens == 7 else "quatre-vingt"
            joiner = "-et-" if value == 71 else "-"
            return base + joiner + TEENS["fr"][unit]
        if tens == 8:
            return "quatre-vingts" if unit == 0 else "quatre-vingt-" + DIGITS["fr"][unit]
        word = TENS["fr"][tens - 2]
        return word if unit == 0 else word + ("-et-un" if unit == 1 else "-" + DIGITS["fr"][unit])
    word = TENS[lang][tens - 2]
    if unit == 0:
        return word
    digit = DIGITS[lang][unit]
    if lang == "en":
        return word + "-" + digit if value % 2 else word + " " + digit
    if lang == "de":
        return ("ein" if unit == 1 else digit) + "und" + word
    if lang == "nl":
        return digit + ("ën" if digit.endswith("e") else "en") + word
    if lang == "es":
        if tens == 2:
            return "veinti" + {"dos": "dós", "tres": "trés", "seis": "séis"}.get(digit, digit)
        return word + " y " + digit
    if lang == "it":
        return (word[:-1] if digit in ("uno", "otto") else word) + ("tré" if digit == "tre" else digit)
    if lang == "pt":
        return word + " e " + digit
    if lang == "ro":
        return word + " și " + digit
    return word + " " + digit  # pl


def obfuscate(cls: str, number: phonenumbers.PhoneNumber, lang: str, rng: random.Random) -> tuple[str, bool]:
    """(text of the number, is_html) written the way class ``cls`` writes it."""
    digits = national_digits(number)
    parts = groups(digits, rng)
    words = DIGITS[lang]
    if cls == "plain":
        sep = rng.choice([" ", "-", ".", " "])
        return sep.join(parts), False
    if cls == "spelled":
        sep = rng.choice([" ", " ", "-", ", ", " / "])
        return sep.join(words[int(d)] for d in digits), False
    if cls == "glued":
        out = ""
        for d in digits:
            out += words[int(d)] if rng.random() < 0.6 else d
        if out.isdigit():
            out = words[int(digits[0])] + out[1:]
        return out, False
    if cls == "mixed_case":
        sep = rng.choice([" ", " ", "-", ""])
        return sep.join(case(words[int(d)], rng) if rng.random() < 0.8 else d for d in digits), False
    if cls == "homophones":
        out = []
        for d in digits:
            if d in HOMOPHONES and rng.random() < 0.7:
                out.append(rng.choice(HOMOPHONES[d]))
            else:
                out.append(DIGITS["en"][int(d)] if rng.random() < 0.5 else d)
        if not any(w in sum(HOMOPHONES.values(), []) for w in out):
            return None, False  # type: ignore[return-value]
        return " ".join(out), False
    if cls == "leet":
        leet = {"o": "0", "i": "1", "e": "3", "s": "5", "t": "7"}
        misspelled = {"5": "fiv", "6": "sx", "7": "svn", "9": "nne", "8": "eigt"}
        out = []
        for d in digits:
            word = DIGITS["en"][int(d)]
            roll = rng.random()
            if roll < 0.45:
                word = "".join(leet.get(ch, ch) if rng.random() < 0.6 else ch for ch in word)
            elif roll < 0.65 and d in misspelled:
                word = misspelled[d]
            elif roll < 0.85:
                word = d
            out.append(word)
        return rng.choice([" ", "", ".", "-"]).join(out), False
    if cls == "teens_tens":
        lead = digits[0] if len(digits) % 2 else ""
        pairs = [digits[i : i + 2] for i in range(len(lead), len(digits), 2)]
        spelled = [words[int(lead)]] if lead else []
        spelled += [spell_pair(p, lang) for p in pairs]
        return rng.choice([" ", ", ", " "]).join(spelled), False
    if cls == "boxed":
        style = rng.choice(["paren", "brace", "double", "square", "mixed"])
        if style == "paren":
            return "".join(f"({d})" for d in digits), False
        if style == "brace":
            return "".join("{" + p + "}" for p in parts), False
        if style == "double":
            return " ".join(f"[[{p}]]" for p in parts), False
        if style == "square":
            return "".join(f"[{d}]" for d in digits), False
        return "".join("{" + "".join(words[int(d)] if rng.random() < 0.4 else d for d in p) + "}" for p in parts), False
    if cls == "separators":
        sep = rng.choice(SEPARATORS)
        return sep.join(parts), False
    if cls == "international":
        code = str(number.country_code)
        national = str(number.national_number)
        style = rng.choice(["00sep", "plus", "glued00", "plus_trunk", "00eq"])
        nparts = groups(national, rng)
        if style == "00sep":
            return "00" + code + " " + " ".join(nparts), False
        if style == "plus":
            return "+" + code + rng.choice([" ", "-", ""]) + " ".join(nparts), False
        if style == "glued00":
            return "00" + code + national, False
        if style == "plus_trunk" and phonenumbers.region_code_for_number(number) in ("DE", "AT", "CH", "GB", "NL", "BE", "IT"):
            return "+" + code + " (0)" + " ".join(nparts), False
        return "00" + code + "=" + "=".join(nparts), False
    if cls == "split":
        cut = rng.randint(2, len(parts) - 1) if len(parts) > 2 else 1
        head, tail = " ".join(parts[:cut]), " ".join(parts[cut:])
        style = rng.choice(["br", "span", "div", "text"])
        if style == "br":
            return f"{head}<br>{tail}", True
        if style == "span":
            return f"<span>{head}</span><span>{tail}</span>", True
        if style == "div":
            return f"<div>{head}</div><div>{tail}</div>", True
        return f"{head}\n{tail}", False
    if cls == "unicode":
        style = rng.choice(["keycap", "fullwidth", "lookalike", "emoji_sep"])
        if style == "keycap":
            return "".join(d + "\ufe0f\u20e3" for d in digits), False
        if style == "fullwidth":
            return " ".join("".join(chr(0xFF10 + int(d)) for d in p) for p in parts), False
        if style == "lookalike":
            text = "".join({"0": "O", "1": "l"}.get(d, d) if rng.random() < 0.5 else d for d in digits)
            return text, False
        return rng.choice(["❤", "★", "💋", "•"]).join(parts), False
    raise ValueError(cls)


PHONE_CLASSES = ("plain", "spelled", "glued", "mixed_case", "homophones", "teens_tens", "boxed", "separators",
                 "international", "split", "unicode", "magnitudes", "leet")  # fmt: skip
MAGNITUDE = {"en": ("hundred", "thousand"), "de": ("hundert", "tausend"), "nl": ("honderd", "duizend"),
             "fr": ("cents", "mille"), "it": ("cento", "mila"), "es": (None, "mil")}  # fmt: skip


def magnitude_item(rng: random.Random, lang: str, region: str) -> tuple[str, str] | None:
    """A number whose last group is X00 or X000, written "5 hundred" / "2 thousand"."""
    hundred, thousand = MAGNITUDE[lang]
    for _ in range(200):
        number = random_mobile(rng, region)
        digits = national_digits(number)
        zeros = rng.choice([z for z, word in ((2, hundred), (3, thousand)) if word])
        lead = str(rng.randint(2, 9))
        candidate = digits[: -(zeros + 1)] + lead + "0" * zeros
        parsed = phonenumbers.parse(candidate, region)
        if not phonenumbers.is_valid_number(parsed):
            continue
        word = hundred if zeros == 2 else thousand
        if lang == "en" and rng.random() < 0.5:
            lead_text = DIGITS["en"][int(lead)]
        else:
            lead_text = lead
        if lang == "de" or lang == "it":
            spelled = f"{lead_text} {word}" if lead_text.isdigit() else f"{lead_text}{word}"
        elif lang == "fr" and zeros == 3:
            spelled = f"{lead_text} mille"
        else:
            spelled = f"{lead_text} {word}"
        head = " ".join(groups(candidate[: -(zeros + 1)], rng))
        return f"{head} {spelled}", e164(parsed)
    return None


def phone_items(rng: random.Random) -> list[dict]:
    items = []
    languages = list(REGIONS)
    for cls in PHONE_CLASSES:
        count = 0
        attempts = 0
        while count < 40 and attempts < 400:
            attempts += 1
            lang = "en" if cls in ("homophones", "leet") else languages[(count + attempts) % len(languages)]
            if cls == "magnitudes":
                lang = rng.choice(list(MAGNITUDE))
            region = rng.choice(REGIONS[lang])
            if cls == "magnitudes":
                made = magnitude_item(rng, lang, region)
                if not made:
                    continue
                text, gold = made
                html = False
            else:
                number = random_mobile(rng, region)
                text, html = obfuscate(cls, number, lang, rng)
                if text is None:
                    continue
                gold = e164(number)
            sentence = rng.choice(CALL[lang]).format(x=text)
            if rng.random() < 0.5:
                sentence = rng.choice(FILLER[lang]) + " " + sentence
            board = rng.random()
            country = region if board < 0.7 else None if board < 0.85 else ("GB" if region != "GB" else "US")
            if cls == "international":
                country = rng.choice([None, "GB", "US", region])
            body = f"<html><body><p>{sentence}</p></body></html>" if html else sentence
            items.append({"id": f"{cls}-{count:03d}", "class": cls, "language": lang, "country": country,
                          "html": html, "text": body, "phones": [gold]})  # fmt: skip
            count += 1
    return items


NAMES = ["Anna", "Lisa", "Mia", "Sofia", "Elena", "Nina", "Lara", "Julia", "Vera", "Dana", "Kira", "Emma"]
AGE_FORMS = {
    "en": ["Age: {n}", "{n}yo", "{n} y/o", "{n}yrs", "{n} years old", "I'm {w} years old", "{w} yo", "age {n}.", "I am {n}, ", "{n} years young"],
    "nl": ["Leeftijd: {n}", "{n} jaar", "ik ben {n} jaar", "{w} jaar oud"],
    "de": ["Alter: {n}", "{n} Jahre", "{n} J.", "ich bin {w} Jahre alt", "{n} Jahre alt"],
    "fr": ["Âge : {n}", "{n} ans", "j'ai {n} ans", "{w} ans"],
    "es": ["Edad: {n}", "{n} años", "tengo {n} años", "{w} años"],
    "it": ["Età: {n}", "{n} anni", "ho {n} anni", "{w} anni"],
    "pl": ["Wiek: {n}", "{n} lat", "mam {n} lat", "{w} lat"],
    "ro": ["Vârsta: {n}", "{n} de ani", "am {n} de ani", "{w} de ani"],
    "pt": ["Idade: {n}", "{n} anos", "tenho {n} anos", "{w} anos"],
}
HANDLE_FORMS = [
    ("snapchat", ["snap: {h}", "sc - {h}", "Snapchat: {h}", "snap @{h}", "SC: {h}", "add me on snapchat: {h}", "my snap is {h}"]),
    ("wechat", ["wechat id: {h}", "WeChat: {h}", "wechat - {h}"]),
    ("twitter", ["twitter @ {h}", "Twitter: @{h}", "X: @{h}", "twitter.com/{h}"]),
    ("instagram", ["IG @{h}", "insta: {h}", "Instagram: @{h}", "instagram.com/{h}", "ig - {h}"]),
    ("kik", ["kik me {h}", "kik: {h}", "Kik - {h}", "kik @{h}"]),
    ("telegram", ["telegram: @{h}", "t.me/{h}", "TG: {h}", "Telegram - {h}"]),
    ("signal", ["signal: {h}"]),
    ("onlyfans", ["onlyfans.com/{h}", "OnlyFans: {h}", "only fans: @{h}"]),
    ("line", ["LINE ID: {h}", "line id - {h}"]),
]
HANDLE_STEMS = ["lily", "rose", "bella", "kitty", "honey", "angel", "sugar", "candy", "peach", "luna", "star", "misty"]


def spelled_age(n: int, lang: str) -> str:
    return spell_pair(str(n), lang)


def ad_items(rng: random.Random) -> list[dict]:
    items = []
    languages = list(REGIONS)
    for index in range(150):
        lang = languages[index % len(languages)] if index % 3 else "en"
        region = rng.choice(REGIONS[lang])
        name = rng.choice(NAMES)
        age = rng.randint(18, 45)
        form = rng.choice(AGE_FORMS[lang])
        age_text = form.format(n=age, w=spelled_age(age, lang))
        handles, handle_texts = [], []
        for _ in range(rng.choice((0, 1, 1, 2))):
            platform, forms = rng.choice(HANDLE_FORMS)
            stem = rng.choice(HANDLE_STEMS)
            handle = stem + rng.choice(["", "_", ".", "x"]) + str(rng.randint(1, 99)) if rng.random() < 0.8 else stem + "_" + name.lower()
            text = rng.choice(forms).format(h=handle)
            handles.append(f"{platform}:{handle.lower()}")
            handle_texts.append(text)
        number = random_mobile(rng, region)
        phone_cls = rng.choice(["plain", "plain", "spelled", "separators", "boxed", "unicode"])
        phone_text, _ = obfuscate(phone_cls, number, lang, rng)
        whatsapp = rng.random() < 0.15
        call = rng.choice(CALL[lang]).format(x=("WhatsApp " if whatsapp else "") + phone_text)
        sentences = [f"{name}, {age_text}", rng.choice(FILLER[lang]), call, *handle_texts]
        rng.shuffle(sentences[1:])
        body = "\n".join(s if s.rstrip().endswith((".", "!", ",")) else s + "." for s in sentences) if rng.random() < 0.5 else " ".join(sentences)
        if whatsapp:
            handles.append(f"whatsapp:{e164(number)}")
        items.append({"id": f"ad-{index:03d}", "class": "ad", "language": lang, "country": region if rng.random() < 0.8 else None,
                      "html": False, "text": body, "phones": [e164(number)], "ages": [age],
                      "handles": sorted(set(handles))})  # fmt: skip
    return items


def decoy_items(rng: random.Random) -> list[dict]:
    """Text with numbers that are not phones; some also carry one real number."""
    items = []
    makers = [
        lambda: "Age: " + " ".join(str(n) for n in range(rng.randint(18, 21), rng.randint(60, 99))),
        lambda: "Pages: " + " ".join(str(n) for n in range(1, rng.randint(12, 30))) + " next",
        lambda: "Height " + " | ".join(str(n) for n in range(150, 150 + 5 * rng.randint(6, 12), 5)) + " cm",
        lambda: f"Posted {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(10, 26)} at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        lambda: f"Updated 20{rng.randint(10, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
        lambda: f"Open {rng.randint(8, 11)}:00 - {rng.randint(18, 23)}:30, Mon-Sat",
        lambda: "Rates: " + ", ".join(f"${p} {d}" for p, d in zip(sorted(rng.sample(range(80, 600, 10), 3)), ("qv", "hh", "hr"), strict=False)),
        lambda: " ".join(f"{p}$" for p in sorted(rng.sample(range(100, 900, 50), 4))) + " donations",
        lambda: f"Preis: {rng.randint(80, 300)},00 € / 1 Std, {rng.randint(300, 600)},00 € / 2 Std",
        lambda: f"{rng.randint(32, 38)}{rng.choice('ABCDD')}-{rng.randint(22, 28)}-{rng.randint(32, 38)}, {rng.randint(4, 5)}'{rng.randint(1, 11)}, {rng.randint(100, 140)}lbs",
        lambda: f"{rng.randint(150, 185)} cm, {rng.randint(45, 70)} kg, {rng.randint(70, 100)}-{rng.randint(55, 70)}-{rng.randint(80, 100)}",
        lambda: f"Post ID: {rng.randint(2000000000, 9999999999)}",
        lambda: f"Ad #{rng.randint(100000000, 999999999)} reported? Ref no. {rng.randint(2000000000, 9999999999)}",
        lambda: f"see site.example/ads/{rng.randint(2000000000, 9999999999)}.html for more",
        lambda: f"https://board.example.com/view.php?id={rng.randint(2000000000, 9999999999)}&p=2",
        lambda: f"Postcode {rng.randint(1000, 9999)} AB, {rng.randint(10000, 99999)} Berlin",
        lambda: f"rgb({rng.randint(0, 255)}, {rng.randint(0, 255)}, {rng.randint(0, 255)}) #{rng.randint(0, 0xFFFFFF):06x}",
        lambda: f"Available 24/7, {rng.randint(2, 6)} girls, {rng.randint(30, 60)} min {rng.randint(100, 200)} / {rng.randint(60, 90)} min {rng.randint(200, 300)}",
        lambda: "Years: " + " ".join(str(y) for y in range(2010, 2010 + rng.randint(5, 15))),
        lambda: f"Call between {rng.randint(9, 11)} to {rng.randint(5, 9)} for {rng.randint(1, 3)} hours",
    ]
    for index in range(200):
        maker = makers[index % len(makers)]
        text = maker()
        phones: list[str] = []
        country = rng.choice(["US", "GB", "DE", "NL", "FR"])
        if index % 4 == 0:
            lang = {"US": "en", "GB": "en", "DE": "de", "NL": "nl", "FR": "fr"}[country]
            number = random_mobile(rng, country)
            text += ". " + rng.choice(CALL[lang]).format(x=" ".join(groups(national_digits(number), rng)))
            phones = [e164(number)]
        items.append({"id": f"decoy-{index:03d}", "class": "decoy", "language": None, "country": country,
                      "html": False, "text": text, "phones": phones})  # fmt: skip
    return items


def main() -> None:
    rng = random.Random(SEED)
    DATA.mkdir(parents=True, exist_ok=True)
    for name, items in (("phones", phone_items(rng)), ("ads", ad_items(rng)), ("decoys", decoy_items(rng))):
        with open(DATA / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(f"{name}: {len(items)} items")


if __name__ == "__main__":
    main()
