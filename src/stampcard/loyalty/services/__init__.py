"""Writes of the loyalty engine: stamping, correcting, closing cycles, enrolling customers.

Every function is one transaction and takes the business explicitly. Each module is one job:
``stamping`` (the hot path), ``card_state`` (reading a card for the rules), ``rules``,
``cycles`` (rewards at the goal), ``corrections``, ``enrollment`` and ``contacts``.
"""

from stampcard.loyalty.services.corrections import MAX_CORRECTION, correct_stamps
from stampcard.loyalty.services.cycles import hand_over_reward
from stampcard.loyalty.services.enrollment import enroll_customer
from stampcard.loyalty.services.stamping import StampOutcome, add_claimed_stamps, add_stamps

__all__ = [
    "MAX_CORRECTION",
    "StampOutcome",
    "add_claimed_stamps",
    "add_stamps",
    "correct_stamps",
    "enroll_customer",
    "hand_over_reward",
]
