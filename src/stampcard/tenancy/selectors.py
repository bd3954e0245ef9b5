from typing import TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model, Q, QuerySet
from django_scopes import scopes_disabled

from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Membership

_Row = TypeVar("_Row", bound=Model)


def memberships_of(user: User | AnonymousUser) -> list[Membership]:
    """Every business the user works for, across tenants: the one read that spans them."""
    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user)
            .select_related("business")
            .order_by("business__name")
        )


def membership_in(user: User | AnonymousUser, business_slug: str) -> Membership | None:
    if not user.is_authenticated:
        return None
    with scopes_disabled():
        return (
            Membership.objects.select_related("business")
            .prefetch_related("locations")
            .filter(user=user, business__slug=business_slug)
            .first()
        )


def at_actors_locations(
    queryset: QuerySet[_Row], actor: Actor, *, field: str = "location"
) -> QuerySet[_Row]:
    """Rows at the actor's locations, and rows with none (business-wide: never another shop's).

    An actor limited to no location sees every row.
    """
    if not actor.location_ids:
        return queryset
    return queryset.filter(
        Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__in": actor.location_ids})
    )
