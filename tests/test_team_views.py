"""The Team page and the accept page: who gets what answer, and what a request leaves behind."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from django.utils.translation import override

from stampcard.audit.models import AuditEntry
from stampcard.tenancy import team
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Invitation, Membership
from tests import factories
from tests.conftest import FreshContextClient
from tests.mail_server import deliver_mail

pytestmark = pytest.mark.django_db
User = get_user_model()
TEAM = "/b/corner-cafe/team/"


def member_url(membership):
    return f"{TEAM}{membership.pk}/"


def invite(business, owner, email="nok@example.org", role="staff", location_ids=()):
    actor = Actor.for_member(Membership.objects.get(business=business, user=owner))
    return team.invite_member(
        business=business, actor=actor, email=email, role=role, location_ids=location_ids
    )


@pytest.fixture
def people(owner, maria, bob, charlie):
    return {"alice": owner, "maria": maria, "bob": bob, "charlie": charlie, "anonymous": None}


@pytest.mark.parametrize(
    ("person", "status"),
    [("alice", 200), ("maria", 403), ("bob", 403), ("charlie", 404), ("anonymous", 302)],
)
def test_who_sees_the_team_page(client, business, people, person, status):
    if people[person] is not None:
        client.force_login(people[person])
    assert client.get(TEAM).status_code == status
    member = Membership.objects.get(user=people["alice"])
    assert client.get(member_url(member)).status_code == status
    posted = client.post(TEAM, {"email": "x@example.org", "role": "owner"})
    assert posted.status_code == (302 if person == "alice" else status)
    assert Invitation.objects.exists() == (person == "alice")


def test_the_page_lists_members_and_open_invitations(client, business, owner, bob, shop):
    invite(business, owner, email="nok@example.org", location_ids=[shop.pk])
    client.force_login(owner)
    page = client.get(TEAM).content.decode()
    assert "nok@example.org" in page
    assert "bob" in page
    assert "Riverside" in page  # bob's and the invitation's shop
    assert "Send invitation" in page


def test_another_business_s_member_is_not_found(client, business, owner, other_owner):
    client.force_login(owner)
    theirs = Membership.objects.get(user=other_owner)
    assert client.get(member_url(theirs)).status_code == 404
    assert client.post(member_url(theirs), {"remove": "1"}).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_another_business_s_invitation_is_not_found(client, business, owner, other_business):
    theirs = invite(
        other_business, factories.MembershipFactory(business=other_business, role="owner").user
    )
    client.force_login(owner)
    assert client.post(TEAM, {"cancel": theirs.invitation.pk}).status_code == 404
    assert client.post(TEAM, {"resend": "9" * 40}).status_code == 404
    assert Invitation.objects.get().is_open


def test_inviting_from_the_page(client, business, owner, shop):
    client.force_login(owner)
    response = client.post(
        TEAM, {"email": "Nok@Example.org", "role": "manager", "locations": [shop.pk]}, follow=True
    )
    assert "Invitation sent to nok@example.org." in response.content.decode()
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("nok@example.org", "manager")
    assert list(invitation.locations.all()) == [shop]
    deliver_mail()  # the outbox sends it after the commit
    assert len(mail.outbox) == 1


def test_another_business_s_shop_in_the_form_is_a_clear_error(
    client, business, owner, shop, other_business
):
    foreign = factories.LocationFactory(business=other_business)
    client.force_login(owner)
    response = client.post(
        TEAM, {"email": "nok@example.org", "role": "staff", "locations": [foreign.pk]}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Invitation.objects.exists()
    deliver_mail()  # the outbox sends it after the commit
    assert mail.outbox == []


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-address", "role": "staff"},
        {"email": "nok@example.org", "role": "emperor"},
        {"email": "x" * 5000 + "@example.org", "role": "staff"},
        {"email": "nok@example.org", "role": "staff", "locations": ["1 OR 1=1"]},
        {"email": "nok\x00@example.org", "role": "staff"},
    ],
)
def test_hostile_input_is_refused_and_leaves_nothing(client, business, owner, shop, data):
    client.force_login(owner)
    response = client.post(TEAM, data)
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not Invitation.objects.exists()


def test_an_existing_member_is_refused_with_a_clear_message(client, business, owner):
    User.objects.filter(username="owner").update(email="alice@example.org")
    client.force_login(owner)
    response = client.post(TEAM, {"email": "alice@example.org", "role": "staff"})
    assert response.status_code == 409
    assert "already a member of this business" in response.content.decode()


def test_the_refusal_speaks_the_user_s_language(client, business, owner):
    User.objects.filter(username="owner").update(email="alice@example.org")
    client.force_login(owner)
    client.cookies["django_language"] = "th"
    response = client.post(TEAM, {"email": "alice@example.org", "role": "staff"})
    with override("th"):
        assert team.AlreadyMember().message in response.content.decode()
    assert "already a member" not in response.content.decode()


def test_a_post_without_the_csrf_token_is_refused(business, owner):
    client = FreshContextClient(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(TEAM, {"email": "nok@example.org", "role": "staff"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_resend_and_cancel_from_the_page(client, business, owner):
    first = invite(business, owner)
    client.force_login(owner)
    response = client.post(TEAM, {"resend": first.invitation.pk}, follow=True)
    assert "Invitation sent again to nok@example.org." in response.content.decode()
    assert team.find_invitation(first.token) is None
    client.post(TEAM, {"cancel": first.invitation.pk})
    assert not Invitation.objects.get().is_open


def test_removal_takes_effect_at_the_member_s_next_request(business, owner, bob):
    bobs = FreshContextClient()
    bobs.force_login(bob)
    assert bobs.get("/b/corner-cafe/").status_code == 200
    alices = FreshContextClient()
    alices.force_login(owner)
    response = alices.post(member_url(Membership.objects.get(user=bob)), {"remove": "1"})
    assert response.status_code == 302
    assert bobs.get("/b/corner-cafe/").status_code == 404  # the same session, refused now


def test_a_role_change_takes_effect_at_the_member_s_next_request(business, owner, bob, shop):
    bobs = FreshContextClient()
    bobs.force_login(bob)
    assert bobs.get("/b/corner-cafe/devices/").status_code == 403
    alices = FreshContextClient()
    alices.force_login(owner)
    response = alices.post(
        member_url(Membership.objects.get(user=bob)),
        {"role": "manager", "locations": [shop.pk]},
    )
    assert response.status_code == 302
    assert bobs.get("/b/corner-cafe/devices/").status_code == 200


def test_the_owner_cannot_remove_herself_but_may_leave_when_not_the_last(client, business, owner):
    mine = Membership.objects.get(user=owner)
    client.force_login(owner)
    page = client.get(member_url(mine)).content.decode()
    assert 'name="leave"' in page
    assert 'name="remove"' not in page
    response = client.post(member_url(mine), {"remove": "1"})
    assert response.status_code == 409
    response = client.post(member_url(mine), {"leave": "1"})
    assert response.status_code == 409
    assert "needs an owner who works at every shop" in response.content.decode()
    factories.MembershipFactory(business=business, role="owner")
    response = client.post(member_url(mine), {"leave": "1"})
    assert response.status_code == 302
    assert not Membership.objects.filter(user=owner).exists()


# --- the accept page -------------------------------------------------------------------------


ACCEPT = "/invite/accept/"


def accept_url(token):
    return f"/invite/{token}/"


def open_link(client, token):
    """Open the mailed link: it keeps the token in the session and redirects to ACCEPT."""
    response = client.get(accept_url(token))
    assert response.status_code == 302
    assert response["Location"] == ACCEPT
    return client.get(ACCEPT)


def test_get_changes_nothing_and_post_joins(client, business, owner):
    issued = invite(business, owner)
    nok = User.objects.create_user(
        "nok@example.org", email="nok@example.org", password="p-123456789"
    )
    client.force_login(nok)
    page = open_link(client, issued.token)
    assert page.status_code == 200
    assert "Join Corner Cafe" in page.content.decode()
    assert issued.token not in page.content.decode()
    assert not Membership.objects.filter(user=nok).exists()
    assert client.post(accept_url(issued.token)).status_code == 302  # to ACCEPT, nothing else
    assert not Membership.objects.filter(user=nok).exists()
    response = client.post(ACCEPT)
    assert response.status_code == 302
    assert response["Location"] == "/b/corner-cafe/"
    assert Membership.objects.get(user=nok).role == "staff"
    assert client.get("/b/corner-cafe/").status_code == 200
    assert client.post(ACCEPT).status_code == 404  # the session forgot the token
    assert client.get(accept_url(issued.token)).status_code == 410
    assert Membership.objects.filter(user=nok).count() == 1


def test_the_placeholder_without_an_opened_link_is_not_valid(client, business, owner):
    invite(business, owner)
    for response in (client.get(ACCEPT), client.post(ACCEPT)):
        assert response.status_code == 404
        assert "This invitation link is not valid" in response.content.decode()


def test_a_new_person_sets_a_name_and_a_password(client, business, owner):
    issued = invite(business, owner)
    page = open_link(client, issued.token).content.decode()
    assert "Create your account for nok@example.org" in page
    weak = client.post(ACCEPT, {"name": "Nok", "password": "12345"})
    assert weak.status_code == 400
    assert "too short" in weak.content.decode()
    assert not User.objects.filter(username="nok@example.org").exists()
    response = client.post(ACCEPT, {"name": "Nok Lamai", "password": "kaffee-und-kuchen-42"})
    assert response.status_code == 302
    user = User.objects.get(username="nok@example.org")
    assert user.is_active
    assert client.get("/b/corner-cafe/").status_code == 200  # logged in as the new account


def test_someone_with_an_account_is_asked_to_log_in(client, business, owner):
    issued = invite(business, owner)
    User.objects.create_user("nok@example.org", email="nok@example.org", password="p-123456789")
    page = open_link(client, issued.token)
    assert page.status_code == 200
    assert f"/accounts/login/?next={ACCEPT}" in page.content.decode()
    posted = client.post(ACCEPT, {"name": "X", "password": "kaffee-und-kuchen-42"})
    assert posted.status_code == 200
    assert Invitation.objects.get().is_open


def test_an_unconfirmed_sign_up_with_the_address_does_not_block_the_invitation(
    client, business, owner
):
    # Someone signed up with the invited address and never confirmed it.
    squatted = User.objects.create_user(
        "nok@example.org", email="nok@example.org", password="squatters-pass-1", is_active=False
    )
    issued = invite(business, owner)
    page = open_link(client, issued.token)
    assert page.status_code == 200
    assert "Create your account for nok@example.org" in page.content.decode()
    response = client.post(ACCEPT, {"name": "Nok", "password": "kaffee-und-kuchen-42"})
    assert response.status_code == 302
    assert response["Location"] == "/b/corner-cafe/"
    user = User.objects.get(username="nok@example.org")
    assert user.pk == squatted.pk
    assert user.is_active
    assert user.first_name == "Nok"
    assert user.check_password("kaffee-und-kuchen-42")
    assert not user.check_password("squatters-pass-1")
    assert Membership.objects.get(business=business, user=user).role == "staff"
    assert client.get("/b/corner-cafe/").status_code == 200


def test_a_different_user_is_told_so(client, business, owner, stranger):
    issued = invite(business, owner)
    client.force_login(stranger)
    page = open_link(client, issued.token)
    assert page.status_code == 403
    assert "This invitation is for nok@example.org" in page.content.decode()
    assert client.post(ACCEPT).status_code == 403
    assert not Membership.objects.filter(user=stranger).exists()
    assert Invitation.objects.get().is_open


@pytest.mark.parametrize(
    "token", ["x" * 43, "short", "A" * 300, "%00" * 20, "%27%20OR%201%3D1%20--"]
)
def test_a_forged_link_gets_a_clear_page(client, business, owner, token):
    invite(business, owner)
    response = client.get(accept_url(token))
    assert response.status_code == 404
    assert "This invitation link is not valid" in response.content.decode()


@pytest.mark.parametrize(
    ("state", "status", "sentence"),
    [
        ("expired", 410, "This invitation has expired"),
        ("cancelled", 410, "This invitation was cancelled"),
        ("accepted", 410, "This invitation was already accepted"),
    ],
)
def test_a_dead_link_gets_a_clear_page(client, business, owner, state, status, sentence):
    issued = invite(business, owner)
    now = timezone.now()
    change = {
        "expired": {"expires_at": now - timedelta(seconds=1)},
        "cancelled": {"cancelled_at": now},
        "accepted": {"accepted_at": now},
    }[state]
    Invitation.objects.update(**change)
    for response in (client.get(accept_url(issued.token)), client.post(accept_url(issued.token))):
        assert response.status_code == status
        assert sentence in response.content.decode()
    assert not User.objects.filter(username="nok@example.org").exists()


def test_the_accept_page_is_never_cached(client, business, owner):
    issued = invite(business, owner)
    assert "no-store" in client.get(accept_url(issued.token))["Cache-Control"]
    assert "no-store" in client.get(ACCEPT)["Cache-Control"]


def test_every_change_from_the_pages_is_audited(client, business, owner, bob):
    client.force_login(owner)
    client.post(TEAM, {"email": "nok@example.org", "role": "staff"})
    client.post(member_url(Membership.objects.get(user=bob)), {"role": "manager"})
    client.post(member_url(Membership.objects.get(user=bob)), {"remove": "1"})
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-3:] == ["invitation.sent", "member.changed", "member.removed"]


def test_a_staff_member_cannot_post_to_the_team_page(business, owner, bob):
    client = FreshContextClient()
    client.force_login(bob)
    target = Membership.objects.get(user=owner)
    assert client.post(member_url(target), {"role": "staff"}).status_code == 403
    assert client.post(member_url(target), {"remove": "1"}).status_code == 403
    assert Membership.objects.get(user=owner).role == "owner"


def test_the_live_token_is_never_logged(client, business, owner, stranger, caplog):
    issued = invite(business, owner)
    with caplog.at_level(logging.DEBUG):
        open_link(client, issued.token)
        weak = client.post(ACCEPT, {"name": "Nok", "password": "1"})  # logged: a 400
        client.force_login(stranger)
        wrong = open_link(client, issued.token)  # logged: a 403
    assert (weak.status_code, wrong.status_code) == (400, 403)
    assert "/invite/accept/" in caplog.text
    assert issued.token not in caplog.text


def test_logging_in_from_the_page_keeps_the_invitation(client, business, owner):
    issued = invite(business, owner)
    User.objects.create_user(
        "nok@example.org", email="nok@example.org", password="kaffee-42-kuchen"
    )
    open_link(client, issued.token)
    response = client.post(
        f"/accounts/login/?next={ACCEPT}",
        {"username": "nok@example.org", "password": "kaffee-42-kuchen"},
    )
    assert response.status_code == 302
    assert response["Location"] == ACCEPT
    assert "Join Corner Cafe" in client.get(ACCEPT).content.decode()
    assert client.post(ACCEPT).status_code == 302
    assert Membership.objects.filter(user__username="nok@example.org").exists()


# --- An owner limited to some shops ------------------------------------------------------


def person(business, name, role, locations=(), full_name=""):
    user = User.objects.create_user(f"{name}@example.org", email=f"{name}@example.org")
    user.first_name = full_name
    user.save()
    return factories.MembershipFactory(
        business=business, user=user, role=role, locations=list(locations)
    )


@pytest.fixture
def limited_owner_s_team(business, owner, bob, shop, other_shop):
    """Dao owns Corner Cafe at Riverside only. Alice owns every shop; Bob works at Riverside;
    Fay at both shops; Eve at Old Town only."""
    team_of = {
        "dao": person(business, "dao", "owner", [shop], "Dao Limited"),
        "alice": Membership.objects.get(user=owner),
        "bob": Membership.objects.get(user=bob),
        "fay": person(business, "fay", "staff", [shop, other_shop], "Fay Both"),
        "eve": person(business, "eve", "manager", [other_shop], "Eve Oldtown"),
    }
    invite(business, owner, email="riverside@example.org", location_ids=[shop.pk])
    invite(business, owner, email="oldtown@example.org", location_ids=[other_shop.pk])
    invite(business, owner, email="everywhere@example.org", role="manager")
    return team_of


def test_an_owner_limited_to_a_shop_sees_in_full_only_whom_she_manages(
    client, limited_owner_s_team
):
    members = limited_owner_s_team
    client.force_login(members["dao"].user)
    page = client.get(TEAM).content.decode()
    # Herself and Bob (Riverside only) in full: address, link to change.
    for full in ("dao", "bob"):
        assert member_url(members[full]) in page
    assert "dao@example.org" in page
    # Alice (every shop) and Fay (Riverside and Old Town) by name only: no link, no address.
    assert "Fay Both" in page
    assert "fay@example.org" not in page
    for name_only in ("alice", "fay", "eve"):
        assert member_url(members[name_only]) not in page
    assert page.count("Also works at shops you do not manage.") == 2
    # Eve works only at Old Town: not there. Old Town itself is nowhere on the page.
    assert "Eve Oldtown" not in page
    assert "eve@example.org" not in page
    assert "Old Town" not in page
    assert "4 members" in page
    # Only the invitation she may resend or cancel.
    assert "riverside@example.org" in page
    assert "oldtown@example.org" not in page
    assert "everywhere@example.org" not in page


def test_an_owner_of_every_shop_still_sees_the_whole_team(client, limited_owner_s_team):
    members = limited_owner_s_team
    client.force_login(members["alice"].user)
    page = client.get(TEAM).content.decode()
    for membership in members.values():
        assert member_url(membership) in page
    assert "Old Town" in page
    assert "Also works at shops you do not manage." not in page
    assert "oldtown@example.org" in page
    assert "everywhere@example.org" in page


@pytest.mark.parametrize("who", ["alice", "fay", "eve"])
def test_a_member_a_limited_owner_may_not_see_in_full_is_not_found(
    client, limited_owner_s_team, who
):
    members = limited_owner_s_team
    client.force_login(members["dao"].user)
    url = member_url(members[who])
    assert client.get(url).status_code == 404
    assert client.post(url, {"remove": "1"}).status_code == 404
    assert client.post(url, {"save": "1", "role": "staff"}).status_code == 404
    assert Membership.objects.filter(pk=members[who].pk, role=members[who].role).exists()
    assert not AuditEntry.objects.filter(action__startswith="member.").exists()


def test_a_limited_owner_opens_her_own_page_and_bob_s(client, limited_owner_s_team):
    members = limited_owner_s_team
    client.force_login(members["dao"].user)
    assert client.get(member_url(members["dao"])).status_code == 200
    page = client.get(member_url(members["bob"])).content.decode()
    assert "Riverside" in page
    assert "Old Town" not in page
    response = client.post(member_url(members["bob"]), {"remove": "1"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=members["bob"].pk).exists()
