"""Codes read off a screen or paper and typed into a till: redeem codes and claim codes.

Why not the card codes' alphabet (``loyalty.card_codes``): a card code is only ever read back
by this system, so it can fold look-alikes on input (O to 0, I and L to 1) and carries a
check symbol. A redeem code is also read by the POS, which compares it exactly as it was
printed and folds nothing, so its alphabet must leave out both sides of every look-alike
pair (0/O, 1/I/L, U/V). Claim codes use the same alphabet because customers type them from
paper. Codes a POS created and we imported are matched exactly as they are (case and all)
and never pass through ``normalize_code``; all of them obey ``POOL_CODE_PATTERN``, which is
what may reach a barcode image.
"""

import re
import secrets

UNAMBIGUOUS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
# Letters, digits, - and _: what a POS exports and what QR codes and Code 128 carry as is.
# \A and \Z, not ^ and $: "$" would also match before a final newline.
POOL_CODE_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")


def new_code(length: int) -> str:
    return "".join(secrets.choice(UNAMBIGUOUS_ALPHABET) for _ in range(length))


def normalize_code(typed: str) -> str:
    """A typed claim code as stored: compared without case, spaces or dashes."""
    return "".join(typed.split()).replace("-", "").upper()
