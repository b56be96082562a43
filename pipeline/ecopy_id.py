"""E-copy IDs: 80 random bits in Crockford base32 plus Crockford's mod-37 check symbol.

Printed as ``XXXX-XXXX-XXXX-XXXX-C`` so a person can type it from paper; parsing forgives
case, hyphens/spaces and the look-alikes Crockford defines (O→0, I/L→1).
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
RANDOM_BITS = 80
_BODY_LEN = RANDOM_BITS // 5  # 16 symbols
_DECODE = {c: i for i, c in enumerate(ALPHABET)} | {"O": 0, "I": 1, "L": 1}


def _check_symbol(value: int) -> str:
    return CHECK_ALPHABET[value % 37]


def new_ecopy_id() -> str:
    value = secrets.randbits(RANDOM_BITS)
    body = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(_BODY_LEN)))
    groups = [body[i : i + 4] for i in range(0, _BODY_LEN, 4)]
    return "-".join([*groups, _check_symbol(value)])


def normalize_ecopy_id(text: str) -> str | None:
    """The canonical form of a typed ID, or None if it is not a well-formed ID (bad check symbol)."""
    raw = "".join(ch for ch in text.strip().upper() if ch not in "- ")
    if len(raw) != _BODY_LEN + 1:
        return None
    body, check = raw[:-1], raw[-1]
    value = 0
    for ch in body:
        if ch not in _DECODE:
            return None
        value = value * 32 + _DECODE[ch]
    if check == "U" and _check_symbol(value) != "U":
        return None
    if CHECK_ALPHABET.find(check if check not in "OIL" else str(_DECODE[check])) != value % 37:
        return None
    canon = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(_BODY_LEN)))
    return "-".join([*(canon[i : i + 4] for i in range(0, _BODY_LEN, 4)), _check_symbol(value)])


def is_ecopy_id(text: str) -> bool:
    return normalize_ecopy_id(text) is not None
