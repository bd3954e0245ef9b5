"""Random secrets, and how those shown only once (device and API tokens) are kept: as a hash.

Secrets that must be shown again, such as the token in a card's or a voucher's URL, are
stored as they are; they are random and long, so they cannot be guessed.
"""

import hashlib
import hmac
import secrets


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret with ``nbytes`` of entropy."""
    return secrets.token_urlsafe(nbytes)


def hash_secret(secret: str) -> str:
    """The form a secret is kept in at rest.

    Secrets are long random strings, so a fast unsalted hash is enough: nothing can be
    guessed from it, and it can be looked up by index.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time check of a presented secret against its stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
