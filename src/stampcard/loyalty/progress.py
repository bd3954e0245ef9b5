"""A card's progress as people read it: stamps towards the next reward, and what it is."""

from dataclasses import dataclass

from django.utils.translation import ngettext

from stampcard.loyalty.models import Card


def reward_at(stamps: int) -> str:
    """ "Reward at 5 stamps", in the active language: how the web card and both wallets
    label a reward on the way (a milestone) or at the goal."""
    return ngettext("Reward at %(count)d stamp", "Reward at %(count)d stamps", stamps) % {
        "count": stamps
    }


@dataclass(frozen=True, slots=True)
class Progress:
    stamps: int
    goal: int
    # The next reward ahead in this cycle: a milestone or the goal.
    next_at: int
    next_reward: str

    @property
    def to_go(self) -> int:
        return self.next_at - self.stamps

    @property
    def text(self) -> str:
        """ "2 more stamps to Free cookie", in the active language."""
        return ngettext(
            "%(n)d more stamp to %(reward)s",
            "%(n)d more stamps to %(reward)s",
            self.to_go,
        ) % {"n": self.to_go, "reward": self.next_reward}


def progress_of(card: Card, language: str | None = None) -> Progress:
    """Where ``card`` stands, the next reward (a milestone's or the goal's) named in
    ``language`` (``text_in``; None: the business's default language). Reads the program's
    milestones (prefetch them for lists)."""
    program = card.program
    ahead = [m for m in program.milestones.all() if m.stamps > card.stamps]
    following = min(ahead, key=lambda m: m.stamps) if ahead else None
    if following is None:
        reward = program.text_in("reward_title", language)
        return Progress(card.stamps, program.stamps_goal, program.stamps_goal, reward)
    return Progress(
        card.stamps, program.stamps_goal, following.stamps, following.title_in(language)
    )
