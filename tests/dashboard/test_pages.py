"""The business pages show what a member may see; staff do not see the audit trail."""

import re

from django.utils import timezone

from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps, correct_stamps
from stampcard.stats.models import ProgramDay, RollupState
from stampcard.stats.rollup import roll_up
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


def test_audit_trail_pages_back_after_the_last_entry_shown(client, owner, business):
    """ "Older" continues after the last entry shown, also among entries made in the same
    instant, until none is left: each entry once, newest first."""
    from stampcard.audit.models import AuditEntry

    moment = timezone.now()
    made = [AuditEntry.objects.create(business=business, action=f"test.{n}") for n in range(120)]
    # Forty of them in one instant, across the page boundaries.
    AuditEntry.objects.filter(pk__in=[e.pk for e in made[30:70]]).update(created_at=moment)
    made = sorted(AuditEntry.objects.filter(action__startswith="test."), key=lambda e: e.pk)
    made.sort(key=lambda e: e.created_at)
    client.force_login(owner)
    seen, url = [], "/b/corner-cafe/audit/"
    while url:
        page = client.get(url).content.decode()
        seen += re.findall(r"<td[^>]*>(test\.\d+)</td>", page)
        older = re.search(r'href="(\?before=\d+_\d+)"', page)
        url = f"/b/corner-cafe/audit/{older.group(1)}" if older else ""
    assert seen == [entry.action for entry in reversed(made)]
    assert client.get("/b/corner-cafe/audit/?before=x").status_code == 200


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


def _figures_pages(client, business, *programs):
    """The overview and the programs' pages, without the per-response CSRF tokens."""
    urls = [f"/b/{business.slug}/", *(f"/b/{business.slug}/programs/{p.pk}/" for p in programs)]
    return [
        re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", client.get(u).content.decode())
        for u in urls
    ]


def test_program_figures_are_the_same_from_the_rollup_the_tail_and_the_ledger(
    client, owner, business, staff_actor
):
    coffee = factories.ProgramFactory(business=business, name="Coffee card", stamps_goal=10)
    tea = factories.ProgramFactory(business=business, name="Tea card", stamps_goal=10)
    cards = [factories.CardFactory(program=coffee) for _ in range(3)]
    cards.append(factories.CardFactory(program=tea))
    stamp = lambda card: add_stamps(  # noqa: E731
        business=business, actor=staff_actor, source=StampSource.STAFF, card_id=card.pk
    )
    for _ in range(12):
        stamp(cards[0])  # a reward, and 2 stamps towards the next
    stamp(cards[1])
    correct_stamps(business=business, actor=staff_actor, card=cards[1], delta=-1, reason="twice")
    stamp(cards[3])
    client.force_login(owner)
    live = _figures_pages(client, business, coffee, tea)
    # Coffee: 3 cards, 12 + 1 - 1 stamps, 1 reward; tea: 1 card, 1 stamp, no reward.
    assert re.search(r"Coffee card</a></td>.*>3</td><td [^>]*>12</td></tr>", live[0])
    assert re.search(r"Tea card</a></td>.*>1</td><td [^>]*>1</td></tr>", live[0])
    assert "<dt>Customers</dt><dd>3</dd>" in live[1]
    assert "<dt>Rewards earned</dt><dd>1</dd>" in live[1]
    assert "<dt>Rewards earned</dt><dd>0</dd>" in live[2]

    roll_up(until=timezone.now())
    assert ProgramDay.objects.filter(business=business).exists()
    assert _figures_pages(client, business, coffee, tea) == live

    # A live tail after the rollup: a new card, stamps and a reward.
    cards.append(factories.CardFactory(program=tea))
    for _ in range(10):
        stamp(cards[4])
    tail = _figures_pages(client, business, coffee, tea)
    assert re.search(r"Tea card</a></td>.*>2</td><td [^>]*>11</td></tr>", tail[0])
    assert "<dt>Rewards earned</dt><dd>1</dd>" in tail[2]
    # The same as counted from the ledger alone (no rollup yet).
    RollupState.objects.update(rolled_until=None)
    assert _figures_pages(client, business, coffee, tea) == tail
