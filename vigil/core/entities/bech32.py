"""Bech32 (BIP-173) and Bech32m (BIP-350) decoding of segwit addresses.

Written from the BIPs' reference algorithm because no maintained PyPI library covers both
variants with the segwit rules; the official test vectors live in tests/unit/test_wallets.py.
"""

from __future__ import annotations

from enum import Enum

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Encoding(Enum):
    BECH32 = 1
    BECH32M = 2


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _GENERATOR[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def bech32_decode(bech: str) -> tuple[str, list[int], Encoding] | tuple[None, None, None]:
    """Split and checksum a Bech32/Bech32m string: (hrp, data without checksum, encoding)."""
    if any(ord(x) < 33 or ord(x) > 126 for x in bech) or (bech.lower() != bech and bech.upper() != bech):
        return None, None, None
    bech = bech.lower()
    pos = bech.rfind("1")
    if pos < 1 or pos + 7 > len(bech) or len(bech) > 90:
        return None, None, None
    if not all(x in CHARSET for x in bech[pos + 1 :]):
        return None, None, None
    hrp = bech[:pos]
    data = [CHARSET.find(x) for x in bech[pos + 1 :]]
    const = _polymod(_hrp_expand(hrp) + data)
    if const == 1:
        encoding = Encoding.BECH32
    elif const == _BECH32M_CONST:
        encoding = Encoding.BECH32M
    else:
        return None, None, None
    return hrp, data[:-6], encoding


def _convertbits(data: list[int], frombits: int, tobits: int, pad: bool) -> list[int] | None:
    acc = 0
    bits = 0
    ret: list[int] = []
    maxv = (1 << tobits) - 1
    max_acc = (1 << (frombits + tobits - 1)) - 1
    for value in data:
        if value < 0 or (value >> frombits):
            return None
        acc = ((acc << frombits) | value) & max_acc
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad:
        if bits:
            ret.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return ret


def decode_segwit_address(hrp: str, addr: str) -> tuple[int, bytes] | None:
    """(witness version, program) of a valid segwit address with the given hrp, else None."""
    hrpgot, data, encoding = bech32_decode(addr)
    if hrpgot != hrp or not data:
        return None
    program = _convertbits(data[1:], 5, 8, False)
    if program is None or len(program) < 2 or len(program) > 40:
        return None
    version = data[0]
    if version > 16:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    if (version == 0) != (encoding == Encoding.BECH32):
        return None
    return version, bytes(program)
