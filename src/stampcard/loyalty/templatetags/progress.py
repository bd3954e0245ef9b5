from django import template

from stampcard.loyalty.models import Card
from stampcard.loyalty.progress import Progress, progress_of

register = template.Library()


@register.filter
def progress(card: Card) -> Progress:
    """``{{ card|progress }}``: the card's progress (``.text``, ``.stamps``, ``.goal``)."""
    return progress_of(card)
