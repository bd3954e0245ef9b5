"""The customer door, and what runs behind no door, through a URLconf of this test's own.

Customer pages come in a later issue; these views only report what the door put on the
request, and read a scoped model to show which business's scope is open.
"""

from typing import Any

import pytest
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django_scopes import ScopeError

from stampcard.loyalty.models import Card
from stampcard.tenancy.actors import ActorKind
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories


def card_page(request: Any, card_token: str) -> JsonResponse:
    return JsonResponse(
        {
            "business": request.business.name,
            "card": request.card.pk,
            "actor": request.actor.kind,
            "cards_in_scope": sorted(Card.objects.values_list("pk", flat=True)),
        }
    )


def voucher_page(request: Any, voucher_token: str) -> JsonResponse:
    return JsonResponse({"business": request.business.name, "voucher": request.voucher.pk})


def outside_every_door(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"cards": Card.objects.count()})


urlpatterns = [
    path("c/<str:card_token>/", card_page),
    path("v/<str:voucher_token>/", voucher_page),
    path("nowhere/", outside_every_door),
]


@pytest.fixture
def cards(business, other_business):
    mine = factories.CardFactory(program=factories.ProgramFactory(business=business))
    theirs = factories.CardFactory(program=factories.ProgramFactory(business=other_business))
    return mine, theirs


@pytest.mark.urls(__name__)
def test_a_card_token_opens_its_business_scope(client, cards):
    mine, theirs = cards
    body = client.get(f"/c/{theirs.token}/").json()
    assert body == {
        "business": "Rival Bakery",
        "card": theirs.pk,
        "actor": ActorKind.CUSTOMER,
        "cards_in_scope": [theirs.pk],
    }
    assert client.get(f"/c/{mine.token}/").json()["cards_in_scope"] == [mine.pk]


@pytest.mark.urls(__name__)
def test_a_voucher_token_opens_its_business_scope(client, business, staff_actor):
    voucher = issue_voucher(
        business=business,
        actor=staff_actor,
        title="Cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
    )
    assert client.get(f"/v/{voucher.token}/").json() == {
        "business": "Corner Cafe",
        "voucher": voucher.pk,
    }


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    "token",
    [
        "A" * 43,  # well formed, nobody's
        "x",
        "A" * 5000,
        "A" * 20 + "%00" + "A" * 22,
        "%C3%A4" * 43,
        "'%20OR%201=1%20--",
    ],
    ids=["unknown", "short", "huge", "nul", "non-ascii", "sql"],
)
def test_unknown_and_malformed_tokens_are_not_found(client, cards, token):
    assert client.get(f"/c/{token}/").status_code == 404
    assert client.get(f"/v/{token}/").status_code == 404


@pytest.mark.urls(__name__)
def test_the_short_card_code_never_opens_a_card(client, cards):
    mine, _ = cards
    assert client.get(f"/c/{mine.code}/").status_code == 404
    assert client.get(f"/c/{mine.display_code}/").status_code == 404


@pytest.mark.urls(__name__)
def test_a_voucher_token_is_no_card_token(client, business, staff_actor, cards):
    voucher = issue_voucher(
        business=business,
        actor=staff_actor,
        title="Cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
    )
    assert client.get(f"/c/{voucher.token}/").status_code == 404


@pytest.mark.urls(__name__)
def test_outside_every_door_a_tenant_query_raises(client, cards):
    with pytest.raises(ScopeError):
        client.get("/nowhere/")
