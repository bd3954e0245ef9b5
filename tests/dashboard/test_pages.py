"""The business pages show what a member may see; staff do not see the audit trail."""

from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps, correct_stamps
from stampcard.tenancy.actors import Actor, ActorKind
from tests import factories


def test_business_overview_lists_programs_cards_and_search(client, owner, card):
    client.force_login(owner)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/b/corner-cafe/"
    page = client.get("/b/corner-cafe/").content.decode()
    assert "Coffee card" in page
    assert card.display_code in page
    found = client.get("/b/corner-cafe/", {"q": card.display_code.lower()}).content.decode()
    assert card.display_code in found
    missing = client.get("/b/corner-cafe/", {"q": "nobody-like-this"}).content.decode()
    assert card.display_code not in missing


def test_card_page_shows_the_ledger_with_corrections(client, owner, card):
    actor = Actor(kind=ActorKind.STAFF, user_id=owner.pk)
    add_stamps(business=card.business, actor=actor, source=StampSource.STAFF, card_id=card.pk)
    add_stamps(business=card.business, actor=actor, source=StampSource.STAFF, card_id=card.pk)
    correct_stamps(business=card.business, actor=actor, card=card, delta=-1, reason="double scan")
    client.force_login(owner)
    page = client.get(f"/b/corner-cafe/cards/{card.code}/").content.decode()
    assert "double scan" in page
    assert "1 / 10" in page


def test_staff_cannot_open_the_audit_trail(client, business, card):
    barista = factories.UserFactory()
    factories.MembershipFactory(business=business, user=barista, role="staff")
    client.force_login(barista)
    assert client.get("/b/corner-cafe/").status_code == 200
    assert client.get("/b/corner-cafe/audit/").status_code == 403


def test_audit_trail_lists_actions(client, owner, business, staff_actor, card):
    correct_stamps(business=business, actor=staff_actor, card=card, delta=2, reason="paper card")
    client.force_login(owner)
    page = client.get("/b/corner-cafe/audit/").content.decode()
    assert "stamps.corrected" in page


def test_voucher_page_shows_the_redeem_code_as_chosen(client, owner, business, staff_actor):
    from stampcard.vouchers.models import VoucherOrigin
    from stampcard.vouchers.services import issue_voucher

    voucher = issue_voucher(
        business=business,
        actor=staff_actor,
        title="Free cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="redeem_code",
        code="CAKE-1",
        code_display="code128",
    )
    client.force_login(owner)
    page = client.get(f"/b/corner-cafe/vouchers/{voucher.pk}/").content.decode()
    assert "CAKE-1" in page
    assert "<svg" in page


def test_hostile_search_and_card_urls_get_a_clear_answer(client, owner, card):
    client.force_login(owner)
    assert client.get("/b/corner-cafe/", {"q": "a\x00b" * 500}).status_code == 200
    assert client.get("/b/corner-cafe/cards/AB%00CD/").status_code == 404
    assert client.get(f"/b/corner-cafe/cards/{card.code.lower()}/").status_code == 200
