"""Who hands out a reward when a cycle closes: the apps built on the loyalty engine.

The engine writes the ``Reward`` row of a completed cycle; an issuer registered for the
reward's kind (the vouchers app registers the Smart Voucher's) then creates what the reward
is, in the same transaction, and says what became of it. So the engine imports nothing of
the apps built on it: they register here from their ``AppConfig.ready()``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from stampcard.loyalty.models import RewardKind, RewardStatus
from stampcard.tenancy.models import Business


@dataclass(frozen=True, slots=True)
class EarnedReward:
    """A reward just written (at the goal or a milestone), as its issuer is told about it."""

    business: Business
    reward_id: int
    card_id: int
    card_code: str
    program_id: int
    # The milestone it was earned at; None for the program's goal.
    milestone_id: int | None
    now: datetime


# Creates what the reward is (a voucher, a draw) and returns the reward's status: issued, or
# pending when it could not be made now. It must not raise a refusal: the stamp stands.
RewardIssuer = Callable[[EarnedReward], RewardStatus]

_issuers: dict[str, RewardIssuer] = {}


def register_reward_issuer(kind: RewardKind, issuer: RewardIssuer) -> None:
    """Make ``issuer`` hand out every reward of ``kind`` from now on (one issuer per kind)."""
    _issuers[kind.value] = issuer


def reward_issuer(kind: str) -> RewardIssuer | None:
    return _issuers.get(kind)
