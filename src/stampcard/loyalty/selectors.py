from datetime import UTC, datetime

from django.db.models import (
    Count,
    DateTimeField,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import Card, Reward, StampEvent, StampEventKind
from stampcard.loyalty.services.contacts import phone_query
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, allows

# Stands in for "never" so that a card never stamped compares equal to an empty ledger.
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def cards_out_of_balance() -> QuerySet[Card]:
    """Cards whose cached counters disagree with their ledger (in the current scope).

    The invariant, for every counter the card caches: lifetime stamps = the sum of the
    ledger; cycles completed = its goal reward rows; the stamps on the card = the ledger less the
    stamps those cycles used up; the last stamp = the latest stamp row (corrections are not
    stamps). This should always be empty.
    """

    def per_card(
        model: type[StampEvent] | type[Reward], aggregate: Sum | Count | Max, **where: object
    ) -> Subquery:
        rows = (
            model.objects.filter(card=OuterRef("pk"), **where)
            .order_by()
            .values("card")
            .annotate(value=aggregate)
            .values("value")
        )
        return Subquery(rows)

    number = IntegerField()
    never = Value(_NEVER, output_field=DateTimeField())
    cards = Card.objects.annotate(
        ledger=Coalesce(per_card(StampEvent, Sum("delta")), 0, output_field=number),
        used=Coalesce(per_card(Reward, Sum("stamps_used")), 0, output_field=number),
        # Only the goal's reward closes a cycle; milestones on the way do not.
        reward_rows=Coalesce(
            per_card(Reward, Count("id"), milestone__isnull=True), 0, output_field=number
        ),
        last_stamp=Coalesce(
            per_card(StampEvent, Max("created_at"), kind=StampEventKind.STAMP),
            never,
            output_field=DateTimeField(),
        ),
        cached_last_stamp=Coalesce("last_stamp_at", never, output_field=DateTimeField()),
    )
    return cards.filter(
        ~Q(lifetime_stamps=F("ledger"))
        | ~Q(stamps=F("ledger") - F("used"))
        | ~Q(cycles_completed=F("reward_rows"))
        | ~Q(cached_last_stamp=F("last_stamp"))
    )


def card_search(query: str, actor: Actor, business: Business) -> Q:
    """Cards by name or code; by e-mail or phone in part only for who may see them in full.

    Others must type the whole e-mail or number: a part would uncover a masked value letter
    by letter. Used by the dashboard's search and the counter's "forgot the phone".
    """
    return Q(code=searched_card_code(query)) | _contact_search(query, actor, business, "customer__")


def customer_search(query: str, actor: Actor, business: Business) -> Q:
    """Customers by name, e-mail or phone, as ``card_search`` finds their cards."""
    return _contact_search(query, actor, business, "")


def searched_card_code(query: str) -> str:
    """The card code a search for ``query`` looks for."""
    return normalize_card_code(query) or query.upper()


def _contact_search(query: str, actor: Actor, business: Business, prefix: str) -> Q:
    found = Q(**{f"{prefix}name__icontains": query})
    may_see = allows(actor, Permission.VIEW_CONTACT_DETAILS, business=business)
    found |= Q(**{f"{prefix}email__{'icontains' if may_see else 'iexact'}": query})
    # Kept in E.164; typed the local way too ("081 234 5678"), read as the business's country.
    phone = phone_query(query, region=business.country)
    if phone is None:
        return found
    if may_see:
        for part in phone.parts:  # each a probe of the trigram index on the number
            found |= Q(**{f"{prefix}phone__contains": part})
    elif phone.whole:
        found |= Q(**{f"{prefix}phone": phone.whole})
    return found
