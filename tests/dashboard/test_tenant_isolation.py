"""Walks every URL the project defines: a member of one business never reaches another's data."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from stampcard.loyalty.card_codes import format_card_code
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories


def all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from all_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def tenant_urls():
    return [(route, p) for route, p in all_patterns() if "<slug:business_slug>" in route]


@pytest.fixture
def foreign_objects(other_business):
    """One object of each kind that a URL can name, all belonging to the other business."""
    program = factories.ProgramFactory(business=other_business, name="Secret recipe card")
    card = factories.CardFactory(program=program)
    voucher = issue_voucher(
        business=other_business,
        actor=Actor(kind=ActorKind.ADMIN),
        title="Secret",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
        card=card,
    )
    return {
        "program_id": card.program_id,
        "card_code": card.code,
        "voucher_id": voucher.pk,
    }


def fill(route, values):
    url = "/" + route.lstrip("^").rstrip("$")
    for name, value in values.items():
        for converter in ("slug", "int", "str", "path"):
            url = url.replace(f"<{converter}:{name}>", str(value))
    assert "<" not in url, f"a URL names an object this test does not know: {url}"
    return url


def test_the_walk_covers_the_business_pages():
    assert len(tenant_urls()) >= 5


@pytest.mark.parametrize(("route", "pattern"), tenant_urls(), ids=lambda v: str(v))
def test_member_of_a_cannot_reach_b(
    client, owner, business, other_business, foreign_objects, route, pattern
):
    client.force_login(owner)
    code = foreign_objects["card_code"]
    secrets = [b"Secret", code.encode(), format_card_code(code).encode()]
    # B's slug: A's member is no member there.
    response = client.get(fill(route, {"business_slug": other_business.slug, **foreign_objects}))
    assert response.status_code == 404
    # B's objects addressed under A's own slug: the scope hides them.
    response = client.get(fill(route, {"business_slug": business.slug, **foreign_objects}))
    names_an_object = any(name in route for name in foreign_objects)
    assert response.status_code == (404 if names_an_object else 200)
    assert not any(secret in response.content for secret in secrets)


@pytest.mark.parametrize(("route", "pattern"), tenant_urls(), ids=lambda v: str(v))
def test_stranger_is_sent_to_log_in(client, stranger, business, route, pattern):
    url = fill(
        route,
        {"business_slug": business.slug, "program_id": 1, "card_code": "X", "voucher_id": 1},
    )
    assert client.get(url).status_code == 302  # anonymous: log in first
    client.force_login(stranger)
    assert client.get(url).status_code == 404


def test_admin_is_for_platform_operators_only(client, owner):
    client.force_login(owner)
    response = client.get("/admin/loyalty/card/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
