from django.contrib.auth.models import AnonymousUser, User
from django_scopes import scopes_disabled

from stampcard.tenancy.models import Membership


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
