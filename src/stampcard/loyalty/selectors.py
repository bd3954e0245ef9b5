from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from stampcard.loyalty.models import Card, Reward, StampEvent


def cards_out_of_balance() -> QuerySet[Card]:
    """Cards whose counters disagree with their ledger (in the current scope).

    The invariant: lifetime stamps = the sum of the ledger, and the stamps on the card =
    that sum less the stamps its completed cycles used up. This should always be empty.
    """

    def total(model: type[StampEvent] | type[Reward], column: str) -> Coalesce:
        rows = (
            model.objects.filter(card=OuterRef("pk"))
            .order_by()
            .values("card")
            .annotate(total=Sum(column))
            .values("total")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    cards = Card.objects.annotate(
        ledger=total(StampEvent, "delta"), used=total(Reward, "stamps_used")
    )
    return cards.filter(~Q(lifetime_stamps=F("ledger")) | ~Q(stamps=F("ledger") - F("used")))
