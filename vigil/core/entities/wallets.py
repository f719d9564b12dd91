"""Crypto wallet addresses: found by shape, kept only when the checksum validates.

Chains: BTC (base58check P2PKH/P2SH, bech32/bech32m), ETH (EIP-55), TRON (base58check 0x41),
XMR (Monero base58 + keccak checksum), LTC (base58check L/M, ltc1 bech32). Values are
canonical: bech32 lower-case, ETH EIP-55 checksummed, base58 addresses as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import base58
from Crypto.Hash import keccak

from vigil.core.entities.bech32 import decode_segwit_address

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}

CANDIDATE_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"0x[0-9a-fA-F]{40}"
    r"|(?:bc|ltc|BC|LTC)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}"
    r"|[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?"
    r"|[13LMT][1-9A-HJ-NP-Za-km-z]{25,34}"
    r")(?![0-9A-Za-z])"
)

_BASE58_VERSIONS = {0x00: "btc", 0x05: "btc", 0x30: "ltc", 0x32: "ltc", 0x41: "tron"}
_XMR_NETBYTES = {18: "standard", 19: "integrated", 42: "subaddress"}


@dataclass(frozen=True)
class Wallet:
    chain: str
    address: str


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def eip55(address_hex: str) -> str:
    """The EIP-55 mixed-case checksum form of a 40-hex-digit address (with 0x)."""
    lower = address_hex.lower().removeprefix("0x")
    digest = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def validate_eth(address: str) -> str | None:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
        return None
    body = address[2:]
    if body == body.lower() or body == body.upper():
        return eip55(address)
    checksummed = eip55(address)
    return checksummed if checksummed == address else None


def validate_base58check(address: str) -> Wallet | None:
    try:
        raw = base58.b58decode_check(address)
    except ValueError:
        return None
    if len(raw) != 21:
        return None
    chain = _BASE58_VERSIONS.get(raw[0])
    if chain is None:
        return None
    prefix_ok = {
        "btc": address[0] in "13",
        "ltc": address[0] in "LM",
        "tron": address[0] == "T",
    }[chain]
    return Wallet(chain, address) if prefix_ok else None


def validate_segwit(address: str) -> Wallet | None:
    lowered = address.lower()
    for hrp, chain in (("bc", "btc"), ("ltc", "ltc")):
        if lowered.startswith(hrp + "1") and decode_segwit_address(hrp, address):
            return Wallet(chain, lowered)
    return None


def monero_b58decode(value: str) -> bytes | None:
    """Monero's block-wise base58: 11 characters encode 8 bytes; a short last block fewer."""
    encoded_sizes = [0, 2, 3, 5, 6, 7, 9, 10, 11]
    out = bytearray()
    for start in range(0, len(value), 11):
        block = value[start : start + 11]
        if len(block) not in encoded_sizes:
            return None
        size = encoded_sizes.index(len(block))
        number = 0
        for ch in block:
            index = _B58_INDEX.get(ch)
            if index is None:
                return None
            number = number * 58 + index
        if number >= 1 << (8 * size):
            return None
        out += number.to_bytes(size, "big")
    return bytes(out)


def validate_monero(address: str) -> Wallet | None:
    if len(address) not in (95, 106):
        return None
    raw = monero_b58decode(address)
    if raw is None or len(raw) not in (69, 77):
        return None
    if raw[0] not in _XMR_NETBYTES or keccak256(raw[:-4])[:4] != raw[-4:]:
        return None
    return Wallet("xmr", address)


def validate(address: str) -> Wallet | None:
    """The chain and canonical form of a wallet address whose checksum validates, else None."""
    address = address.strip()
    if address.startswith("0x"):
        canonical = validate_eth(address)
        return Wallet("eth", canonical) if canonical else None
    if address.lower().startswith(("bc1", "ltc1")):
        return validate_segwit(address)
    if len(address) in (95, 106) and address[0] in "48":
        return validate_monero(address)
    return validate_base58check(address)


def find_wallets(text: str) -> Iterator[tuple[re.Match[str], Wallet]]:
    for match in CANDIDATE_RE.finditer(text):
        wallet = validate(match.group(0))
        if wallet:
            yield match, wallet
