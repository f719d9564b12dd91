"""Wallet validation against the official BIP-173, BIP-350 and EIP-55 test vectors."""

import base58
import pytest

from vigil.core.entities import normalize
from vigil.core.entities.bech32 import Encoding, bech32_decode, decode_segwit_address
from vigil.core.entities.wallets import eip55, find_wallets, validate

BIP173_VALID_BECH32 = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
BIP173_INVALID_BECH32 = [
    "\x20" + "1nwldj5",
    "\x7f" + "1axkwrx",
    "\x80" + "1eym55h",
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    "pzry9x0s0muk",
    "1pzry9x0s0muk",
    "x1b4n0q5v",
    "li1dgmt3",
    "de1lg7wt" + "\xff",
    "A1G7SGD8",
    "10a06t8",
    "1qzzfhee",
]
BIP350_VALID_BECH32M = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
BIP350_INVALID_BECH32M = [
    "\x20" + "1xj0phk",
    "\x7f" + "1g6xzxy",
    "\x80" + "1vctc34",
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m",
    "1qyrz8wqd2c9m",
    "y1b0jsk6g",
    "lt1igcx5c0",
    "in1muywd",
    "mm1crxm3i",
    "au1s5cgom",
    "M1VUXWEZ",
    "16plkw9",
    "1p2gdwpf",
]
# (address, scriptPubKey hex) from BIP-350 (which supersedes BIP-173's v1+ vectors).
VALID_SEGWIT = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]
INVALID_SEGWIT = [
    # BIP-350
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
    "bc1pw5dgrnzv",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
    "bc1gmk9yu",
    # BIP-173
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",
    "bc1rw5uspcuh",
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",
]
# BIP-173's v1+ examples use the old Bech32 checksum: BIP-350 makes them invalid.
BIP173_V1_PLUS_NOW_INVALID = [
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
    "BC1SW50QA3JX3S",
    "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj",
]

EIP55_VALID = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
EIP55_MIXED_CASE = EIP55_VALID[4:]


def _script_pubkey(version: int, program: bytes) -> str:
    return (bytes([version + 0x50 if version else 0, len(program)]) + program).hex()


@pytest.mark.parametrize("value", BIP173_VALID_BECH32)
def test_bip173_valid_bech32(value):
    hrp, data, encoding = bech32_decode(value)
    assert hrp is not None and encoding == Encoding.BECH32


@pytest.mark.parametrize("value", BIP173_INVALID_BECH32)
def test_bip173_invalid_bech32(value):
    assert bech32_decode(value)[0] is None or bech32_decode(value)[2] != Encoding.BECH32


@pytest.mark.parametrize("value", BIP350_VALID_BECH32M)
def test_bip350_valid_bech32m(value):
    hrp, data, encoding = bech32_decode(value)
    assert hrp is not None and encoding == Encoding.BECH32M


@pytest.mark.parametrize("value", BIP350_INVALID_BECH32M)
def test_bip350_invalid_bech32m(value):
    assert bech32_decode(value)[0] is None or bech32_decode(value)[2] != Encoding.BECH32M


@pytest.mark.parametrize(("address", "script"), VALID_SEGWIT)
def test_valid_segwit_addresses(address, script):
    hrp = address[:2].lower()
    decoded = decode_segwit_address(hrp, address)
    assert decoded is not None
    assert _script_pubkey(*decoded) == script


@pytest.mark.parametrize("address", INVALID_SEGWIT + BIP173_V1_PLUS_NOW_INVALID)
def test_invalid_segwit_addresses(address):
    assert decode_segwit_address("bc", address) is None
    assert decode_segwit_address("tb", address) is None


def test_mainnet_segwit_wallets_are_lower_cased():
    wallet = validate("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
    assert wallet and wallet.chain == "btc" and wallet.address == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert validate("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0").chain == "btc"
    assert validate("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7") is None


@pytest.mark.parametrize("address", EIP55_VALID)
def test_eip55_valid(address):
    wallet = validate(address)
    assert wallet and wallet.chain == "eth"
    assert wallet.address == eip55(address)


@pytest.mark.parametrize("address", EIP55_MIXED_CASE)
def test_eip55_checksum_is_reproduced(address):
    assert eip55(address.lower()) == address


@pytest.mark.parametrize("address", EIP55_MIXED_CASE)
def test_eip55_invalid_when_one_letter_changes_case(address):
    index = next(i for i, c in enumerate(address[2:], 2) if c.isalpha())
    flipped = address[:index] + address[index].swapcase() + address[index + 1 :]
    assert validate(flipped) is None


def test_eth_all_lower_is_checksummed_on_output():
    assert normalize("wallet", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


@pytest.mark.parametrize(
    ("address", "chain"),
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "btc"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "btc"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "tron"),
        (
            "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
            "xmr",
        ),
        (base58.b58encode_check(b"\x30" + bytes(range(20))).decode(), "ltc"),
        (base58.b58encode_check(b"\x32" + bytes(range(20))).decode(), "ltc"),
    ],
)
def test_base58_and_monero_addresses(address, chain):
    wallet = validate(address)
    assert wallet and wallet.chain == chain and wallet.address == address


@pytest.mark.parametrize(
    "address",
    [
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u",
        "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3B",
        base58.b58encode_check(b"\x30" + bytes(range(19))).decode(),
        base58.b58encode_check(b"\x41" + bytes(range(20))).decode()[:-1] + "1",
    ],
)
def test_corrupted_addresses_rejected(address):
    assert validate(address) is None


def test_wallets_found_in_text_only_when_valid():
    text = "pay btc 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa not 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"
    assert [w.address for _, w in find_wallets(text)] == ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]
