"""A member limited to a shop sees its rows; the staff role sees contact details masked."""

import pytest
from django.test import Client

from stampcard.audit.services import record
from stampcard.dashboard.templatetags.access import email_for, mask_email, mask_phone, may
from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps, correct_stamps
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers.models import VoucherOrigin
from stampcard.vouchers.services import issue_voucher, redeem_voucher
from tests import factories


@pytest.fixture
def card_seen_in_two_shops(business, owner, shop, other_shop, card):
    """Two stamps in each shop, and one correction from the dashboard (no shop)."""
    for location, reason in [(shop, "riverside"), (other_shop, "old town")]:
        here = Actor(kind=ActorKind.STAFF, user_id=owner.pk, location_id=location.pk)
        add_stamps(business=business, actor=here, source=StampSource.STAFF, card_id=card.pk)
        correct_stamps(business=business, actor=here, card=card, delta=1, reason=reason)
    anywhere = Actor(kind=ActorKind.STAFF, user_id=owner.pk)
    correct_stamps(business=business, actor=anywhere, card=card, delta=1, reason="paper card")
    return card


def page(client: Client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_member_limited_to_a_shop_sees_its_ledger_rows_and_the_business_wide_ones(
    client, bob, alice, card_seen_in_two_shops
):
    url = f"/b/corner-cafe/cards/{card_seen_in_two_shops.code}/"
    bobs = page(client, bob, url)
    assert "riverside" in bobs
    assert "paper card" in bobs  # no location: business-wide, not another shop's
    assert "old town" not in bobs
    assert "old town" in page(Client(), alice, url)


def test_the_latest_stamps_of_other_shops_are_hidden_too(
    client, bob, business, owner, other_shop, card
):
    there = Actor(kind=ActorKind.STAFF, user_id=owner.pk, location_id=other_shop.pk)
    add_stamps(business=business, actor=there, source=StampSource.STAFF, card_id=card.pk)
    overview = page(client, bob, "/b/corner-cafe/")
    assert "No stamps yet." in overview
    assert card.display_code in overview  # the card itself is the business's, not a shop's


def test_a_voucher_redeemed_at_another_shop_is_not_found(
    client, bob, business, staff_actor, owner, shop, other_shop, card
):
    vouchers = {}
    for location in (shop, other_shop):
        voucher = issue_voucher(
            business=business,
            actor=staff_actor,
            title=f"Cake at {location.name}",
            origin=VoucherOrigin.MANUAL,
            redemption_method="staff_scan",
            card=card,
        )
        here = Actor(kind=ActorKind.STAFF, user_id=owner.pk, location_id=location.pk)
        redeem_voucher(business=business, actor=here, token=voucher.token)
        vouchers[location.name] = voucher
    client.force_login(bob)
    assert client.get(f"/b/corner-cafe/vouchers/{vouchers['Riverside'].pk}/").status_code == 200
    assert client.get(f"/b/corner-cafe/vouchers/{vouchers['Old Town'].pk}/").status_code == 404
    card_page = client.get(f"/b/corner-cafe/cards/{card.code}/").content.decode()
    assert "Cake at Riverside" in card_page
    assert "Cake at Old Town" not in card_page


def test_a_limited_manager_sees_the_audit_entries_of_their_shop(client, business, shop, other_shop):
    manager = factories.UserFactory()
    factories.MembershipFactory(business=business, user=manager, role="manager", locations=[shop])
    for location, action in [(shop, "here.done"), (other_shop, "there.done"), (None, "all.done")]:
        actor = Actor(kind=ActorKind.SYSTEM, location_id=location.pk if location else None)
        record(business=business, actor=actor, action=action)
    trail = page(client, manager, "/b/corner-cafe/audit/")
    assert "here.done" in trail
    assert "all.done" in trail
    assert "there.done" not in trail


@pytest.fixture
def reachable_customer(business, program):
    business.country = "TH"
    business.save()
    customer = factories.CustomerFactory(
        business=business, name="", email="jane.doe@example.org", phone="+66812345678"
    )
    return factories.CardFactory(program=program, customer=customer)


def test_staff_see_contact_details_masked_managers_in_full(client, bob, maria, reachable_customer):
    url = f"/b/corner-cafe/cards/{reachable_customer.code}/"
    bobs = page(client, bob, url)
    assert "jane.doe@example.org" not in bobs
    assert "812345678" not in bobs
    assert "j•••@example.org" in bobs
    assert "+66 ••• ••• 678" in bobs
    marias = page(Client(), maria, url)
    assert "jane.doe@example.org" in marias
    assert "+66812345678" in marias


def test_staff_find_a_card_by_the_whole_email_or_phone_only(client, bob, reachable_customer):
    code = reachable_customer.display_code
    for whole in ["Jane.Doe@example.org", "+66 81 234 5678", "081 234 5678"]:
        found = page(client, bob, f"/b/corner-cafe/?q={whole.replace('+', '%2B')}")
        assert code in found, whole
        assert "jane.doe@example.org" not in found
    for part in ["jane", "example.org", "2345678"]:
        assert code not in page(client, bob, f"/b/corner-cafe/?q={part}"), part


def test_managers_find_a_card_by_part_of_the_email(client, maria, reachable_customer):
    assert reachable_customer.display_code in page(client, maria, "/b/corner-cafe/?q=jane")


def test_the_overview_masks_a_customer_known_only_by_email(client, bob, reachable_customer):
    overview = page(client, bob, "/b/corner-cafe/")
    assert reachable_customer.display_code in overview
    assert "j•••@example.org" in overview
    assert "jane.doe" not in overview


@pytest.mark.parametrize(
    ("value", "masked"),
    [("jane@example.org", "j•••@example.org"), ("x@y.z", "x•••@y.z"), ("no-at-sign", "n•••")],
)
def test_mask_email(value, masked):
    assert mask_email(value) == masked


def test_mask_phone_keeps_the_country_and_the_last_three_digits():
    assert mask_phone("+66812345678") == "+66 ••• ••• 678"
    assert mask_phone("+380441234567") == "+380 ••• ••• 567"
    assert mask_phone("0812345678") == "••• ••• 678"  # no country code to show


def test_without_an_actor_nothing_is_shown_in_full():
    assert email_for("jane@example.org", None) == "j•••@example.org"
    assert not may(None, "view")
