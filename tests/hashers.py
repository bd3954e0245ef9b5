"""Argon2 at its least cost, for tests only.

Production hashes with Django's Argon2 defaults (100 MiB, time cost 2, 8 lanes): a second or
more of CPU per hash on a busy two-core machine, paid for every account a fixture makes and every
login a browser test types. The algorithm, the hash format and the rehash-on-login rules stay
Argon2's; only the cost parameters shrink.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher

PRODUCTION = "django.contrib.auth.hashers.Argon2PasswordHasher"


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64  # KiB; Argon2's least is 8 per lane
    parallelism = 1


def quick(hashers: list[str]) -> list[str]:
    """``hashers`` in the same order, with Argon2 at test cost in production's place."""
    return [f"{__name__}.QuickArgon2PasswordHasher" if h == PRODUCTION else h for h in hashers]
