"""Random codes people read off a screen or paper: no 0/O, 1/I/L or U/V look-alikes."""

import secrets

UNAMBIGUOUS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"


def new_code(length: int) -> str:
    return "".join(secrets.choice(UNAMBIGUOUS_ALPHABET) for _ in range(length))


def normalize_code(typed: str) -> str:
    """Codes are compared without case, spaces or dashes."""
    return "".join(typed.split()).replace("-", "").upper()
