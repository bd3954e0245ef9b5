"""Short card codes a person can type and a keyboard-wedge scanner can send.

A code is 8 random symbols and a check symbol, all in [0-9A-Z] without the look-alikes
I, L, O and U (Crockford's alphabet). The check symbol is Luhn mod 32, which catches every
single mistyped symbol and every swap of two neighbours but 0 and Z. Typed input is
forgiving: case, spaces, dashes and the look-alikes (O for 0, I or L for 1) are accepted.

Why not the redeem codes' alphabet (``vouchers.redeem_codes``): a card code is only ever read
back by this system, so folding look-alikes is safe (the alphabet holds one of each pair) and
keeps 32 symbols for the check; codes already printed on cards keep working. A redeem code is
also compared by the POS, which folds nothing, so it leaves out both sides of each pair.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 8
CODE_LENGTH = DATA_LENGTH + 1
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_N = len(ALPHABET)


def check_symbol(data: str) -> str:
    """The Luhn mod N check symbol for ``data``."""
    total = 0
    factor = 2
    for symbol in reversed(data):
        addend = factor * _VALUE[symbol]
        total += addend // _N + addend % _N
        factor = 1 if factor == 2 else 2
    return ALPHABET[(_N - total % _N) % _N]


def new_card_code() -> str:
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + check_symbol(data)


def normalize_card_code(typed: str) -> str | None:
    """The canonical code for what someone typed or scanned, or None if it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper().translate(_LOOK_ALIKES)
    if len(code) != CODE_LENGTH or any(symbol not in _VALUE for symbol in code):
        return None
    if check_symbol(code[:-1]) != code[-1]:
        return None
    return code


def format_card_code(code: str) -> str:
    """How a code is printed for people: two groups, easier to read aloud and type."""
    return f"{code[:4]}-{code[4:]}"
