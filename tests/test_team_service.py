"""The team's rules (tenancy.team): each refusal, each write audited, nothing half-written."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from stampcard import tokens
from stampcard.audit.models import AuditEntry
from stampcard.tenancy import team
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Invitation, Membership, Role
from stampcard.tenancy.permissions import ROLE_PERMISSIONS, Permission
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel
from tests.mail_server import deliver_mail

pytestmark = pytest.mark.django_db
User = get_user_model()


def actor_of(user, business):
    return Actor.for_member(Membership.objects.get(business=business, user=user))


def member(business, name, role, locations=()):
    user = User.objects.create_user(name, email=f"{name}@example.org", password="pw-x-123456789")
    factories.MembershipFactory(business=business, user=user, role=role, locations=list(locations))
    return user


@pytest.fixture
def alice_acts(owner, business):
    return actor_of(owner, business)


def invite(business, actor, email="nok@example.org", role="staff", location_ids=()):
    return team.invite_member(
        business=business, actor=actor, email=email, role=role, location_ids=location_ids
    )


# --- inviting --------------------------------------------------------------------------------


def test_an_owner_invites_and_only_the_hash_of_the_link_is_kept(business, alice_acts, shop):
    issued = invite(business, alice_acts, email="  Nok@Example.ORG ", location_ids=[shop.pk])

    invitation = Invitation.objects.get()
    assert invitation.email == "nok@example.org"
    assert invitation.role == Role.STAFF
    assert list(invitation.locations.all()) == [shop]
    assert invitation.token_hash == tokens.hash_secret(issued.token)
    assert issued.token not in str(Invitation.objects.values().get())
    assert invitation.expires_at - invitation.sent_at == team.INVITATION_LIFETIME
    assert team.find_invitation(issued.token) == invitation
    deliver_mail()  # the outbox sends it after the commit
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nok@example.org"]
    assert team.invitation_url(issued.token) in mail.outbox[0].body
    entry = AuditEntry.objects.get(action="invitation.sent")
    assert entry.details == {"email": "nok@example.org", "role": "staff", "locations": [shop.pk]}


@pytest.mark.parametrize("who", ["maria", "bob"])
def test_managers_and_staff_do_not_manage_the_team(request, business, who):
    actor = actor_of(request.getfixturevalue(who), business)
    with pytest.raises(NotAllowed):
        invite(business, actor)
    assert not Invitation.objects.exists()
    deliver_mail()  # the outbox sends it after the commit
    assert mail.outbox == []


def test_a_member_of_another_business_invites_nobody_here(business, other_staff_actor):
    with pytest.raises(NotAllowed):
        invite(business, other_staff_actor)
    assert not Invitation.objects.exists()


def test_another_business_s_shop_is_refused(business, alice_acts, other_business):
    foreign = factories.LocationFactory(business=other_business)
    with pytest.raises(team.ForeignLocation):
        invite(business, alice_acts, location_ids=[foreign.pk])
    with pytest.raises(team.ForeignLocation):
        invite(business, alice_acts, location_ids=[10**12])
    assert not Invitation.objects.exists()
    deliver_mail()  # the outbox sends it after the commit
    assert mail.outbox == []


def test_an_owner_limited_to_a_shop_invites_only_there(business, shop, other_shop):
    limited = actor_of(member(business, "dao", "owner", [shop]), business)
    with pytest.raises(NotAllowed):
        invite(business, limited)  # every shop: wider than her own reach
    with pytest.raises(NotAllowed):
        invite(business, limited, location_ids=[other_shop.pk])
    invite(business, limited, location_ids=[shop.pk])
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize("email", ["", "not-an-address", "a@" + "b" * 260 + ".org", "x\x00@y.org"])
def test_a_bad_address_is_refused(business, alice_acts, email):
    with pytest.raises(team.InvalidEmail):
        invite(business, alice_acts, email=email)
    assert not Invitation.objects.exists()


def test_an_unknown_role_is_refused(business, alice_acts):
    with pytest.raises(team.InvalidRole):
        invite(business, alice_acts, role="emperor")


def test_an_address_that_is_already_a_member_is_refused(business, alice_acts):
    member(business, "lek", "staff")
    with pytest.raises(team.AlreadyMember):
        invite(business, alice_acts, email="LEK@example.org")
    assert not Invitation.objects.exists()


def test_a_second_open_invitation_to_one_address_is_refused(business, alice_acts):
    invite(business, alice_acts)
    with pytest.raises(team.AlreadyInvited):
        invite(business, alice_acts, email="NOK@example.org", role="manager")
    assert Invitation.objects.count() == 1


def test_an_expired_invitation_gives_way_to_a_new_one(business, alice_acts):
    old = invite(business, alice_acts)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    new = invite(business, alice_acts, role="manager")
    assert Invitation.objects.get(pk=old.invitation.pk).cancelled_at is not None
    assert new.invitation.role == "manager"


def test_invitations_are_throttled_per_business(
    business, alice_acts, other_business, other_staff_actor, monkeypatch
):
    monkeypatch.setattr(team, "INVITATIONS_PER_HOUR", 3)
    first = invite(business, alice_acts, email="a@example.org")
    invite(business, alice_acts, email="b@example.org")
    team.resend_invitation(business=business, actor=alice_acts, invitation=first.invitation)
    with pytest.raises(team.InvitationsThrottled):
        invite(business, alice_acts, email="c@example.org")
    with pytest.raises(team.InvitationsThrottled):
        team.resend_invitation(business=business, actor=alice_acts, invitation=first.invitation)
    assert Invitation.objects.filter(business=business).count() == 2
    # Another business has its own hour.
    invite(other_business, other_staff_actor, email="c@example.org")


def test_the_default_limit_is_thirty_an_hour():
    assert team.INVITATIONS_PER_HOUR == 30


# --- resending and cancelling ----------------------------------------------------------------


def test_resending_makes_a_new_link_and_kills_the_old_one(business, alice_acts):
    first = invite(business, alice_acts)
    Invitation.objects.update(expires_at=timezone.now() + timedelta(hours=1))
    again = team.resend_invitation(business=business, actor=alice_acts, invitation=first.invitation)
    assert again.token != first.token
    assert team.find_invitation(first.token) is None
    assert team.find_invitation(again.token) == first.invitation
    assert again.invitation.expires_at > timezone.now() + timedelta(days=6)
    deliver_mail()  # the outbox sends it after the commit
    assert len(mail.outbox) == 2
    assert again.token in mail.outbox[1].body
    assert AuditEntry.objects.filter(action="invitation.resent").count() == 1


def test_cancelling_ends_the_link(business, alice_acts, stranger):
    issued = invite(business, alice_acts)
    team.cancel_invitation(business=business, actor=alice_acts, invitation=issued.invitation)
    with pytest.raises(team.InvitationCancelled):
        team.accept_with_new_account(token=issued.token, name="Nok", password="x-long-pass-42")
    with pytest.raises(team.InvitationCancelled):
        team.resend_invitation(business=business, actor=alice_acts, invitation=issued.invitation)
    with pytest.raises(team.InvitationCancelled):
        team.cancel_invitation(business=business, actor=alice_acts, invitation=issued.invitation)
    assert AuditEntry.objects.filter(action="invitation.cancelled").count() == 1


def test_a_manager_neither_resends_nor_cancels(business, alice_acts, maria):
    issued = invite(business, alice_acts)
    with pytest.raises(NotAllowed):
        team.resend_invitation(
            business=business, actor=actor_of(maria, business), invitation=issued.invitation
        )
    with pytest.raises(NotAllowed):
        team.cancel_invitation(
            business=business, actor=actor_of(maria, business), invitation=issued.invitation
        )
    assert Invitation.objects.get().is_open


# --- accepting -------------------------------------------------------------------------------


def test_the_invited_user_joins_with_the_role_and_shops_once(business, alice_acts, shop):
    issued = invite(business, alice_acts, location_ids=[shop.pk])
    nok = User.objects.create_user(
        "nok@example.org", email="nok@example.org", password="p-123456789"
    )

    joined = team.accept_invitation(token=issued.token, user=nok)

    assert (joined.role, list(joined.locations.all())) == ("staff", [shop])
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == nok
    assert invitation.accepted_at is not None
    assert AuditEntry.objects.filter(action="invitation.accepted", actor_user=nok).count() == 1
    with pytest.raises(team.InvitationUsed):
        team.accept_invitation(token=issued.token, user=nok)
    assert Membership.objects.filter(user=nok).count() == 1


def test_someone_else_cannot_use_the_link(business, alice_acts, stranger):
    issued = invite(business, alice_acts)
    with pytest.raises(team.WrongAccount):
        team.accept_invitation(token=issued.token, user=stranger)
    assert Invitation.objects.get().is_open
    assert not Membership.objects.filter(user=stranger).exists()


@pytest.mark.parametrize(
    "token", ["", "short", "x" * 43, "A" * 5000, "../../etc/passwd", "é" * 43, None]
)
def test_a_forged_or_malformed_token_is_not_found(business, alice_acts, stranger, token):
    invite(business, alice_acts)
    assert team.find_invitation(token) is None
    with pytest.raises(team.InvitationInvalid):
        team.accept_invitation(token=token, user=stranger)


def test_an_expired_link_is_refused(business, alice_acts):
    issued = invite(business, alice_acts)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(team.InvitationExpired):
        team.accept_with_new_account(token=issued.token, name="Nok", password="x-long-pass-42")
    assert not User.objects.filter(email="nok@example.org").exists()


def test_a_new_account_is_made_confirmed_and_joins(business, alice_acts):
    issued = invite(business, alice_acts, role="manager")
    joined = team.accept_with_new_account(
        token=issued.token, name="  Nok Lamai ", password="x-long-pass-42"
    )
    user = joined.user
    assert (user.username, user.email, user.first_name) == (
        "nok@example.org",
        "nok@example.org",
        "Nok Lamai",
    )
    assert user.is_active
    assert user.check_password("x-long-pass-42")
    assert joined.role == "manager"


def test_an_existing_account_must_log_in_instead(business, alice_acts):
    issued = invite(business, alice_acts)
    User.objects.create_user("nok@example.org", email="nok@example.org", password="p-123456789")
    with pytest.raises(team.AccountExists):
        team.accept_with_new_account(token=issued.token, name="Nok", password="x-long-pass-42")
    assert Invitation.objects.get().is_open
    assert User.objects.filter(email="nok@example.org").count() == 1


def test_an_unconfirmed_account_is_confirmed_by_the_invitation(business, alice_acts):
    User.objects.create_user(
        "Nok@example.org", email="nok@example.org", password="p-123456789", is_active=False
    )
    issued = invite(business, alice_acts)
    assert not team.account_exists("nok@example.org")
    joined = team.accept_with_new_account(token=issued.token, name="Nok", password="x-long-pass-42")
    assert joined.user.is_active
    assert joined.user.check_password("x-long-pass-42")
    assert User.objects.filter(email__iexact="nok@example.org").count() == 1
    assert team.account_exists("nok@example.org")


def test_a_refusal_after_the_account_was_made_leaves_no_account(business, alice_acts, owner):
    # The inviter is gone: the account made in the same transaction must vanish too.
    issued = invite(business, alice_acts)
    Membership.objects.filter(user=owner).update(role="staff")
    with pytest.raises(team.InvitationOutdated):
        team.accept_with_new_account(token=issued.token, name="Nok", password="x-long-pass-42")
    assert not User.objects.filter(username="nok@example.org").exists()
    assert Invitation.objects.get().is_open


def test_an_invitation_for_shops_that_are_gone_is_outdated(business, alice_acts, shop):
    issued = invite(business, alice_acts, location_ids=[shop.pk])
    shop.delete()
    with pytest.raises(team.InvitationOutdated):
        team.accept_with_new_account(token=issued.token, name="Nok", password="x-long-pass-42")
    assert not Membership.objects.filter(user__username="nok@example.org").exists()


def test_a_member_meanwhile_is_refused(business, alice_acts):
    issued = invite(business, alice_acts)
    member(business, "nok", "staff")  # nok@example.org joined another way
    with pytest.raises(team.AlreadyMember):
        team.accept_invitation(token=issued.token, user=User.objects.get(username="nok"))


# --- changing and removing -------------------------------------------------------------------


def test_an_owner_changes_role_and_shops(business, alice_acts, bob, shop, other_shop):
    membership = Membership.objects.get(user=bob)
    changed = team.change_member(
        business=business,
        actor=alice_acts,
        membership=membership,
        role="manager",
        location_ids=[shop.pk, other_shop.pk],
    )
    assert changed.role == "manager"
    assert set(changed.locations.all()) == {shop, other_shop}
    entry = AuditEntry.objects.get(action="member.changed")
    assert entry.details["was_role"] == "staff"
    assert entry.details["role"] == "manager"
    assert entry.details["was_locations"] == [shop.pk]


def test_change_refuses_another_business_s_shop(business, alice_acts, bob, shop, other_business):
    foreign = factories.LocationFactory(business=other_business)
    with pytest.raises(team.ForeignLocation):
        team.change_member(
            business=business,
            actor=alice_acts,
            membership=Membership.objects.get(user=bob),
            role="staff",
            location_ids=[foreign.pk],
        )
    assert list(Membership.objects.get(user=bob).locations.all()) == [shop]


def test_managers_do_not_change_or_remove(business, maria, bob):
    membership = Membership.objects.get(user=bob)
    with pytest.raises(NotAllowed):
        team.change_member(
            business=business,
            actor=actor_of(maria, business),
            membership=membership,
            role="manager",
        )
    with pytest.raises(NotAllowed):
        team.remove_member(
            business=business, actor=actor_of(maria, business), membership=membership
        )
    assert Membership.objects.get(user=bob).role == "staff"


def test_a_limited_owner_does_not_touch_a_member_of_every_shop(business, maria, shop):
    limited = actor_of(member(business, "dao", "owner", [shop]), business)
    with pytest.raises(NotAllowed):
        team.remove_member(
            business=business, actor=limited, membership=Membership.objects.get(user=maria)
        )
    assert Membership.objects.filter(user=maria).exists()


@pytest.fixture
def managers_manage_staff(monkeypatch):
    """Were managers given MANAGE_STAFF, the owners-only rule must still hold by itself."""
    monkeypatch.setitem(
        ROLE_PERMISSIONS, Role.MANAGER, ROLE_PERMISSIONS[Role.MANAGER] | {Permission.MANAGE_STAFF}
    )


def test_a_manager_with_staff_rights_never_makes_or_touches_an_owner(
    managers_manage_staff, business, maria, bob, owner
):
    manager = actor_of(maria, business)
    invite(business, manager, email="new@example.org", role="staff")
    with pytest.raises(team.OwnersOnly):
        invite(business, manager, email="boss@example.org", role="owner")
    with pytest.raises(team.OwnersOnly):
        team.change_member(
            business=business,
            actor=manager,
            membership=Membership.objects.get(user=bob),
            role="owner",
        )
    with pytest.raises(team.OwnersOnly):
        team.change_member(
            business=business,
            actor=manager,
            membership=Membership.objects.get(user=owner),
            role="staff",
        )
    with pytest.raises(team.OwnersOnly):
        team.remove_member(
            business=business, actor=manager, membership=Membership.objects.get(user=owner)
        )
    assert Membership.objects.get(user=owner).role == "owner"


def test_nobody_changes_or_removes_themselves_here(business, alice_acts, owner):
    member(business, "eve", "owner")  # not the last owner: the refusal is about oneself
    mine = Membership.objects.get(user=owner)
    with pytest.raises(team.NotYourself):
        team.change_member(business=business, actor=alice_acts, membership=mine, role="staff")
    with pytest.raises(team.NotYourself):
        team.remove_member(business=business, actor=alice_acts, membership=mine)
    assert Membership.objects.get(user=owner).role == "owner"


def test_the_last_owner_of_every_shop_is_never_demoted_limited_or_removed(business, owner, shop):
    operator = Actor(kind=ActorKind.ADMIN)
    mine = Membership.objects.get(user=owner)
    member(business, "dao", "owner", [shop])  # an owner, but of one shop only
    with pytest.raises(team.LastOwner):
        team.change_member(business=business, actor=operator, membership=mine, role="manager")
    with pytest.raises(team.LastOwner):
        team.change_member(
            business=business, actor=operator, membership=mine, role="owner", location_ids=[shop.pk]
        )
    with pytest.raises(team.LastOwner):
        team.remove_member(business=business, actor=operator, membership=mine)
    with pytest.raises(team.LastOwner):
        team.leave_business(business=business, actor=actor_of(owner, business))
    mine.refresh_from_db()
    assert mine.role == "owner"
    assert not mine.locations.exists()
    assert not AuditEntry.objects.filter(action__startswith="member.").exists()


def test_with_a_second_owner_one_may_demote_the_other(business, alice_acts):
    eve = member(business, "eve", "owner")
    team.change_member(
        business=business,
        actor=alice_acts,
        membership=Membership.objects.get(user=eve),
        role="staff",
    )
    assert Membership.objects.get(user=eve).role == "staff"


def test_removal_is_audited_and_keeps_the_account(business, alice_acts, bob):
    team.remove_member(
        business=business, actor=alice_acts, membership=Membership.objects.get(user=bob)
    )
    assert not Membership.objects.filter(user=bob).exists()
    assert User.objects.filter(pk=bob.pk).exists()
    entry = AuditEntry.objects.get(action="member.removed")
    assert entry.details == {"user": bob.pk, "role": "staff"}


def test_anyone_but_the_last_owner_may_leave(business, bob):
    team.leave_business(business=business, actor=actor_of(bob, business))
    assert not Membership.objects.filter(user=bob).exists()
    assert AuditEntry.objects.filter(action="member.left", actor_user=bob).count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(business, owner):
    eve = member(business, "eve", "owner")
    # As the door admitted each of them when their request began.
    pairs = [
        (actor_of(owner, business), Membership.objects.get(user=eve)),
        (actor_of(eve, business), Membership.objects.get(user=owner)),
    ]

    def demote(i):
        actor, target = pairs[i]
        return team.change_member(business=business, actor=actor, membership=target, role="staff")

    results = run_in_parallel(demote, 2)
    refused = [r for r in results if isinstance(r, team.LastOwner | NotAllowed)]
    assert len(refused) == 1, results
    assert Membership.objects.filter(business=business, role="owner").count() == 1


def test_whoever_resends_becomes_the_sender(business, alice_acts, owner):
    issued = invite(business, alice_acts)
    eve = member(business, "eve", "owner")
    again = team.resend_invitation(
        business=business, actor=actor_of(eve, business), invitation=issued.invitation
    )
    Membership.objects.filter(user=owner).delete()  # the first sender left
    joined = team.accept_with_new_account(token=again.token, name="Nok", password="x-long-pass-42")
    assert joined.role == "staff"
    assert Invitation.objects.get().invited_by == eve
