"""Price and currency of an ad, with price-parser: from the profile's field, metadata or text."""

from __future__ import annotations

import re
from typing import Any

from price_parser import Price as ParsedPrice

from vigil.core.prefilter import PatternSet
from vigil.core.records import Price

_CURRENCY = r"[$€£₽₴]|eur|euro|euros|usd|dollars?|gbp|pln|zł|zl|lei|ron|chf|rub|uah|kč|czk|huf|ft|sek|nok|dkk"
TEXT_PRICE_RE = re.compile(
    rf"(?:(?<![\w])(?:{_CURRENCY})\s?\d[\d.,]*(?:\s?(?:k|tys))?|(?<![\w.,])\d[\d.,]*\s?(?:{_CURRENCY})(?![^\W\d_]))",
    re.IGNORECASE,
)
_TEXT_PRICE_FILTER = PatternSet([TEXT_PRICE_RE])  # one Hyperscan pass instead of the regex at every position
_CODES = {"€": "EUR", "$": "USD", "£": "GBP", "₽": "RUB", "₴": "UAH", "zł": "PLN", "zl": "PLN", "lei": "RON", "kč": "CZK", "ft": "HUF", "euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD"}


def _currency_code(symbol: str | None) -> str | None:
    if not symbol:
        return None
    symbol = symbol.strip()
    return _CODES.get(symbol.lower(), symbol.upper() if symbol.isalpha() else _CODES.get(symbol, symbol))


def parse_price(raw: str, currency_hint: str | None = None) -> Price | None:
    raw = (raw or "").strip()[:200]
    if not raw:
        return None
    parsed = ParsedPrice.fromstring(raw, currency_hint=currency_hint)
    if parsed.amount is None and parsed.currency is None:
        return None
    amount = float(parsed.amount) if parsed.amount is not None else None
    if amount is not None and not (0 <= amount < 1e12):
        amount = None
    return Price(amount=amount, currency=_currency_code(parsed.currency), raw=raw)


def find_price(field_value: str | None, metadata: dict[str, Any], text: str) -> Price | None:
    """The ad's price: profile field first, then metadata (JSON-LD offers), then the text."""
    if field_value:
        price = parse_price(field_value)
        if price:
            return price
    if metadata.get("price") is not None:
        currency = metadata.get("priceCurrency") or metadata.get("product:price:currency")
        price = parse_price(str(metadata["price"]), currency_hint=str(currency) if currency else None)
        if price:
            if price.currency is None and currency:
                price = Price(amount=price.amount, currency=str(currency).upper(), raw=price.raw)
            return price
    if metadata.get("product:price:amount") is not None:
        price = parse_price(f"{metadata['product:price:amount']} {metadata.get('product:price:currency', '')}")
        if price:
            return price
    match = TEXT_PRICE_RE.search(text) if _TEXT_PRICE_FILTER.may_match(text) else None
    return parse_price(match.group(0)) if match else None
