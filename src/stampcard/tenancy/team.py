"""The team of a business: invitations by e-mail, roles, shop limits, removal.

**Who may do what** (the one place these rules live):

- Everything here needs ``Permission.MANAGE_STAFF``. ``tenancy.permissions`` grants it to
  owners only, so today owners manage the team and managers and staff do not.
- Only an owner may make someone an owner or touch an owner (change, remove, invite as
  owner). It holds by itself should ``MANAGE_STAFF`` ever be given to managers: they would
  then manage managers and staff, never owners.
- Shop limits: an actor limited to some shops only invites, changes or removes members
  whose shops (before and after the change) lie within its own (``require_within``); an
  unlimited member (every shop) needs an unlimited actor. Shops are the business's own; an id
  of another business's shop is refused (``ForeignLocation``).
- A business always keeps an owner who works at every shop: the last one is never removed,
  demoted, limited to shops, and cannot leave (``LastOwner``).
- What the team page shows an actor limited to some shops (``team_as_seen_by``): in full,
  itself and the members it may change (the rules above); by name only, the members who
  also work at one of its shops but whom it may not change (a member of every shop, one who
  works at other shops too); not at all, the members who work only at shops it is not
  limited to; and only the open invitations it may resend or cancel. A member's page is
  there only for those it sees in full (``sees_in_full``). An actor limited to no shop sees
  the whole team.
- Nobody changes or removes themselves from the list by accident (``NotYourself``):
  ``leave_business`` is the deliberate way out.
- An e-mail that is already a member is refused (``AlreadyMember``); so is a second open
  invitation to it (``AlreadyInvited``); at most ``INVITATIONS_PER_HOUR`` invitations (new or
  resent) leave a business per hour (``InvitationsThrottled``).

**Invitations.** The link's token is random (``tokens.new_secret``); only its hash is kept,
compared in constant time. It works once, for ``INVITATION_LIFETIME``; resending makes a new
token (the old link dies), cancelling ends it. Accepting re-checks that whoever invited may
still grant that role at those shops, so an invitation from a removed owner dies with them.

Each write runs in one transaction that first locks the business's row, so team changes of
one business happen one after another (two owners cannot demote each other to none), and
writes its audit entry in that transaction. Removals and role changes take effect on the
member's next request: the dashboard door reads the membership on every request.
"""

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from stampcard import mail, tokens
from stampcard.accounts import signup
from stampcard.audit.models import AuditEntry
from stampcard.audit.services import record
from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Business, Invitation, Location, Membership, Role
from stampcard.tenancy.permissions import Permission, allows_within, require_within

INVITATION_LIFETIME = timedelta(days=7)
INVITATIONS_PER_HOUR = 30
# What tokens.new_secret makes; anything else is not looked up.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,100}")
_SENT = ("invitation.sent", "invitation.resent")


class TeamRefusal(Refusal):
    """A team change or an invitation that cannot be made."""


class AlreadyMember(TeamRefusal):
    code = "already_member"
    default_message = _("This person is already a member of this business.")
    http_status = 409


class AlreadyInvited(TeamRefusal):
    code = "already_invited"
    default_message = _(
        "This address already has an open invitation: resend or cancel it in the list below."
    )
    http_status = 409


class InvitationsThrottled(TeamRefusal):
    code = "invitations_throttled"
    default_message = _("Too many invitations in the last hour. Wait a while, then try again.")
    http_status = 429


class InvalidEmail(TeamRefusal):
    code = "invalid_email"
    default_message = _("Enter a valid e-mail address.")
    http_status = 400


class InvalidRole(TeamRefusal):
    code = "invalid_role"
    default_message = _("Choose a role: owner, manager or staff.")
    http_status = 400


class ForeignLocation(TeamRefusal):
    code = "foreign_location"
    default_message = _("Choose shops of this business only.")
    http_status = 400


class OwnersOnly(TeamRefusal):
    code = "owners_only"
    default_message = _("Only an owner may make someone an owner or change an owner.")
    http_status = 403


class LastOwner(TeamRefusal):
    code = "last_owner"
    default_message = _(
        "A business needs an owner who works at every shop. Make someone else such an owner first."
    )
    http_status = 409


class NotYourself(TeamRefusal):
    code = "not_yourself"
    default_message = _(
        "You cannot change or remove yourself here. To leave the business, use “Leave”."
    )
    http_status = 409


class InvitationRefused(TeamRefusal):
    """The invitation link cannot be used (any more)."""

    http_status = 410


class InvitationInvalid(InvitationRefused):
    code = "invitation_invalid"
    default_message = _(
        "This invitation link is not valid. Check that it was copied whole, or ask for a new "
        "invitation."
    )
    http_status = 404


class InvitationExpired(InvitationRefused):
    code = "invitation_expired"
    default_message = _("This invitation has expired. Ask the business for a new one.")


class InvitationUsed(InvitationRefused):
    code = "invitation_used"
    default_message = _("This invitation was already accepted. Log in to open the business.")


class InvitationCancelled(InvitationRefused):
    code = "invitation_cancelled"
    default_message = _("This invitation was cancelled. Ask the business for a new one.")


class InvitationOutdated(InvitationRefused):
    code = "invitation_outdated"
    default_message = _(
        "This invitation no longer fits the business (its shops or the person who sent it "
        "changed). Ask for a new one."
    )


class WrongAccount(TeamRefusal):
    code = "invitation_wrong_account"
    default_message = _(
        "This invitation is for another e-mail address. Log out, then open the link again."
    )
    http_status = 403


class AccountExists(TeamRefusal):
    code = "invitation_account_exists"
    default_message = _("An account with this e-mail already exists. Log in to accept.")
    http_status = 409


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # in the link of the mail; only its hash is kept


# --- invitations -----------------------------------------------------------------------------


def invite_member(
    *,
    business: Business,
    actor: Actor,
    email: str,
    role: str,
    location_ids: Iterable[int] = (),
) -> IssuedInvitation:
    """Invite ``email`` to the business with ``role``, limited to ``location_ids`` (none: every
    shop), and send the invitation mail.

    Refuses as the module says (permission, owners only, foreign shop, already a member,
    already invited, throttled). An expired open invitation to the same address is cancelled
    and replaced. Locks the business; audited as ``invitation.sent``. The mail is recorded in
    the same transaction and sent from the outbox after the commit (``stampcard.mail``).
    """
    email = normalized_email(email)
    role = _valid_role(role)
    shops = _own_locations(business, location_ids)
    token = tokens.new_secret()
    now = timezone.now()
    with transaction.atomic():
        _lock(business)
        _check_may_manage(actor, business, role=role, location_ids=[shop.pk for shop in shops])
        _check_throttle(business, now)
        if _member_with_email(business, email):
            raise AlreadyMember()
        still_open = Invitation.objects.filter(
            business=business, email=email, accepted_at__isnull=True, cancelled_at__isnull=True
        )
        still_open.filter(expires_at__lte=now).update(cancelled_at=now)
        if still_open.exists():
            raise AlreadyInvited()
        invitation = Invitation.objects.create(
            business=business,
            email=email,
            role=role,
            limited=bool(shops),
            token_hash=tokens.hash_secret(token),
            invited_by_id=actor.user_id,
            sent_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        invitation.locations.set(shops)
        record(
            business=business,
            actor=actor,
            action="invitation.sent",
            target=invitation,
            email=email,
            role=role,
            locations=sorted(shop.pk for shop in shops),
        )
        send_invitation_mail(invitation, token)
    return IssuedInvitation(invitation=invitation, token=token)


def resend_invitation(
    *, business: Business, actor: Actor, invitation: Invitation
) -> IssuedInvitation:
    """Send an open invitation again with a new token and a new expiry; the old link dies.
    Whoever resends it becomes its sender (accepting checks that they may still grant it).

    Needs what inviting it needed; refused once accepted or cancelled, when the address has
    become a member meanwhile, and by the hourly limit. Audited as ``invitation.resent``.
    """
    token = tokens.new_secret()
    now = timezone.now()
    with transaction.atomic():
        _lock(business)
        current = _locked_invitation(business, invitation)
        _check_may_manage(actor, business, role=current.role, location_ids=_location_ids(current))
        _check_not_closed(current)
        if _member_with_email(business, current.email):
            raise AlreadyMember()
        _check_throttle(business, now)
        current.token_hash = tokens.hash_secret(token)
        current.sent_at = now
        current.expires_at = now + INVITATION_LIFETIME
        if actor.user_id is not None:  # who resends answers for it from now on
            current.invited_by_id = actor.user_id
        current.save(update_fields=["token_hash", "sent_at", "expires_at", "invited_by"])
        record(
            business=business,
            actor=actor,
            action="invitation.resent",
            target=current,
            email=current.email,
        )
        send_invitation_mail(current, token)
    return IssuedInvitation(invitation=current, token=token)


def cancel_invitation(*, business: Business, actor: Actor, invitation: Invitation) -> None:
    """End an open invitation: its link stops working. Needs what inviting it needed;
    refused once accepted or cancelled. Audited as ``invitation.cancelled``."""
    with transaction.atomic():
        _lock(business)
        current = _locked_invitation(business, invitation)
        _check_may_manage(actor, business, role=current.role, location_ids=_location_ids(current))
        _check_not_closed(current)
        current.cancelled_at = timezone.now()
        current.save(update_fields=["cancelled_at"])
        record(
            business=business,
            actor=actor,
            action="invitation.cancelled",
            target=current,
            email=current.email,
        )


def find_invitation(token: str) -> Invitation | None:
    """The invitation this link's token belongs to, in whatever state; None if unknown or
    malformed. The link is the door of the accept page, so this reads across businesses."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    with scopes_disabled():
        invitation = (
            Invitation.objects.select_related("business", "invited_by")
            .filter(token_hash=tokens.hash_secret(token))
            .first()
        )
    if invitation is None or not tokens.secret_matches(token, invitation.token_hash):
        return None
    return invitation


def check_usable(invitation: Invitation) -> None:
    """Raise the refusal that says why this invitation's link no longer works, if it does not."""
    _check_not_closed(invitation)
    if invitation.expires_at <= timezone.now():
        raise InvitationExpired()


def is_for(invitation: Invitation, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` is the person the invitation was sent to (by e-mail address)."""
    if not user.is_authenticated:
        return False
    return invitation.email in _addresses_of(user)  # type: ignore[arg-type]


def account_exists(email: str) -> bool:
    """Whether the address has an account to log in with (an unconfirmed sign-up is none:
    the invited person makes theirs through the invitation instead)."""
    account = _account_for(email)
    return account is not None and not signup.is_unconfirmed(account)


def accept_invitation(*, token: str, user: User) -> Membership:
    """``user``, whose e-mail the invitation is for, joins the business with its role and shops.

    Refuses a token that is unknown, expired, used or cancelled, another user
    (``WrongAccount``), a user who is already a member, and an invitation whose shops are gone
    or whose sender may no longer grant it (``InvitationOutdated``). The invitation row is
    locked and used up in the same transaction that creates the membership, so a link joins
    once, whatever races. Audited as ``invitation.accepted``.
    """
    with scopes_disabled(), transaction.atomic():
        invitation = _usable_invitation(token)
        if invitation.email not in _addresses_of(user):
            raise WrongAccount()
        return _join(invitation, user)


def accept_with_new_account(*, token: str, name: str, password: str) -> Membership:
    """Make the invited person's account (confirmed: the link proved the address) and join.

    An unconfirmed sign-up with that address becomes this account, with this name and
    password: the invitation's link proves the mailbox as the sign-up's link would.
    The password was checked by the caller against Django's validators. Refused like
    ``accept_invitation``, and with ``AccountExists`` when the address has an account (then
    they log in and accept). Nothing is kept when a refusal comes after the account was made.
    """
    with scopes_disabled(), transaction.atomic():
        invitation = _usable_invitation(token)
        users = get_user_model()
        user = _account_for(invitation.email, for_update=True)
        if user is not None and not signup.is_unconfirmed(user):
            raise AccountExists()
        if user is None:
            user = users(username=invitation.email, email=invitation.email)
        user.first_name = name.strip()[:150]
        user.is_active = True
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as taken:  # made at the same moment by another request
            raise AccountExists() from taken
        return _join(invitation, user)


def invitation_url(token: str) -> str:
    """The absolute address of the accept page (``PUBLIC_BASE_URL`` + path), as mailed."""
    path = reverse("dashboard:invitation", kwargs={"token": token})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def send_invitation_mail(invitation: Invitation, token: str) -> None:
    """The one place the invitation mail is written: plain text and HTML, in the business's
    default language, recorded in the caller's transaction and sent from the outbox after
    its commit (``stampcard.mail``); it is kept no longer than the link lives."""
    business = invitation.business
    with scopes_disabled():
        shops = [shop.name for shop in invitation.locations.order_by("name")]
    inviter = invitation.invited_by
    expires = timezone.localtime(invitation.expires_at, ZoneInfo(business.time_zone))
    with translation.override(business.default_language):
        context = {
            "business": business.name,
            "inviter": display_name(inviter) if inviter is not None else "",
            "role": Role(invitation.role).label,
            "shops": shops,
            "link": invitation_url(token),
            "expires": expires,
        }
        subject = gettext("Join %(business)s on stampcard") % {"business": business.name}
        text = render_to_string("team/invitation_email.txt", context)
        html = render_to_string("team/invitation_email.html", context)
    mail.send_later(
        to=[invitation.email],
        subject=subject,
        body=text,
        html_body=html,
        business_id=business.pk,
        valid_for=INVITATION_LIFETIME,
    )


# --- members ---------------------------------------------------------------------------------


def change_member(
    *,
    business: Business,
    actor: Actor,
    membership: Membership,
    role: str,
    location_ids: Iterable[int] = (),
) -> Membership:
    """Give a member another role and/or other shops (none: every shop).

    Refuses as the module says: permission for the shops before and after, owners only,
    oneself, foreign shops, and the last owner who works at every shop. Locks the business and
    the membership; audited as ``member.changed`` with what it was and what it is. The member
    has the new rights from their next request.
    """
    role = _valid_role(role)
    shops = _own_locations(business, location_ids)
    wanted = [shop.pk for shop in shops]
    with transaction.atomic():
        _lock(business)
        current = _locked_membership(business, membership)
        was = _location_ids(current)
        _check_may_manage(actor, business, role=role, location_ids=wanted, current=current)
        if current.user_id == actor.user_id:
            raise NotYourself()
        if _is_unlimited_owner(current) and (role != Role.OWNER or wanted):
            _check_other_unlimited_owner(business, current)
        was_role = current.role
        current.role = role
        current.save(update_fields=["role"])
        current.locations.set(shops)
        record(
            business=business,
            actor=actor,
            action="member.changed",
            target=current,
            user=current.user_id,
            role=role,
            locations=sorted(wanted),
            was_role=was_role,
            was_locations=sorted(was),
        )
    return current


def remove_member(*, business: Business, actor: Actor, membership: Membership) -> None:
    """Take a member off the team; their next request to the business is refused.

    Refuses as the module says (permission for the member's shops, owners only, oneself, the
    last owner who works at every shop). Audited as ``member.removed``. The person's account
    and everything they did (ledger, audit) stay.
    """
    with transaction.atomic():
        _lock(business)
        current = _locked_membership(business, membership)
        _check_may_manage(
            actor, business, role=current.role, location_ids=_location_ids(current), current=current
        )
        if current.user_id == actor.user_id:
            raise NotYourself()
        _end_membership(business=business, actor=actor, membership=current, action="member.removed")


def leave_business(*, business: Business, actor: Actor) -> None:
    """The acting member leaves the business (any role), unless they are its last owner who
    works at every shop. Audited as ``member.left``."""
    if actor.kind != ActorKind.STAFF or actor.user_id is None:
        raise NotAllowed()
    with transaction.atomic():
        _lock(business)
        current = (
            Membership.objects.select_for_update()
            .filter(business=business, user_id=actor.user_id)
            .first()
        )
        if current is None:
            raise NotAllowed()
        _end_membership(business=business, actor=actor, membership=current, action="member.left")


def _end_membership(
    *, business: Business, actor: Actor, membership: Membership, action: str
) -> None:
    """Delete a locked membership, audited as ``action``, unless it is the business's last
    owner who works at every shop."""
    if _is_unlimited_owner(membership):
        _check_other_unlimited_owner(business, membership)
    record(
        business=business,
        actor=actor,
        action=action,
        target=membership,
        user=membership.user_id,
        role=membership.role,
    )
    membership.delete()


def display_name(user: AbstractBaseUser) -> str:
    """How a person is named on the team page and in mails: their name, else their address."""
    full = user.get_full_name() if isinstance(user, User) else ""
    return full or getattr(user, "email", "") or user.get_username()


def normalized_email(email: str) -> str:
    """The address as stored: trimmed and lower-case; ``InvalidEmail`` if it is none."""
    email = (email or "").strip().lower()
    if len(email) > 254:
        raise InvalidEmail()
    try:
        validate_email(email)
    except ValidationError as invalid:
        raise InvalidEmail() from invalid
    return email


# --- what the team page shows ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamLine:
    """A member as the team page shows them to one actor: ``in_full`` with their address,
    role, shops and dates and a link to change them, or else by name only."""

    membership: Membership
    in_full: bool


def team_as_seen_by(
    actor: Actor, business: Business, members: Iterable[Membership]
) -> list[TeamLine]:
    """The lines of ``members`` (their shops prefetched) that ``actor`` sees, in their order
    (module docstring). Decides from the actor as its door built it: no query per member."""
    lines = []
    for membership in members:
        shops = {shop.pk for shop in membership.locations.all()}
        if sees_in_full(actor, business, membership, shops):
            lines.append(TeamLine(membership=membership, in_full=True))
        elif not actor.location_ids or not shops or shops & actor.location_ids:
            lines.append(TeamLine(membership=membership, in_full=False))
    return lines


def sees_in_full(
    actor: Actor, business: Business, membership: Membership, location_ids: Iterable[int]
) -> bool:
    """Whether ``actor`` sees ``membership`` (working at ``location_ids``, none: every shop) in
    full, on the team page and on the member's own page: its own, or one it may change."""
    if membership.user_id == actor.user_id and actor.user_id is not None:
        return True
    return _may_manage(actor, business, role=membership.role, location_ids=list(location_ids))


def invitations_seen_by(
    actor: Actor, business: Business, invitations: Iterable[Invitation]
) -> list[Invitation]:
    """The open ``invitations`` (their shops prefetched) ``actor`` may resend or cancel."""
    return [
        invitation
        for invitation in invitations
        if _may_manage(
            actor,
            business,
            role=invitation.role,
            location_ids=[shop.pk for shop in invitation.locations.all()],
        )
    ]


def _may_manage(actor: Actor, business: Business, *, role: str, location_ids: list[int]) -> bool:
    """``_check_may_manage`` as a question, judged from the actor as the door saw it."""
    if not allows_within(
        actor, Permission.MANAGE_STAFF, business=business, location_ids=location_ids
    ):
        return False
    return role != Role.OWNER or _role_of(actor, business) == Role.OWNER


# --- the rules' parts ------------------------------------------------------------------------


def _check_may_manage(
    actor: Actor,
    business: Business,
    *,
    role: str,
    location_ids: list[int],
    current: Membership | None = None,
) -> None:
    """MANAGE_STAFF for the new shops and the member's current ones; owners only for owners.

    A member is judged by their membership as it is now, read under the business's lock, not
    as the door saw it when their request began: a demoted owner's request still in flight
    demotes nobody.
    """
    if actor.kind == ActorKind.STAFF and actor.user_id is not None:
        actor = dataclasses.replace(actor, business_id=None, role=None, location_ids=frozenset())
    require_within(actor, Permission.MANAGE_STAFF, business=business, location_ids=location_ids)
    if current is not None:
        require_within(
            actor,
            Permission.MANAGE_STAFF,
            business=business,
            location_ids=_location_ids(current),
        )
    touches_owner = role == Role.OWNER or (current is not None and current.role == Role.OWNER)
    if touches_owner and _role_of(actor, business) != Role.OWNER:
        raise OwnersOnly()


def _role_of(actor: Actor, business: Business) -> str | None:
    """The actor's role in the business; operators and the system count as owners."""
    if actor.kind in (ActorKind.SYSTEM, ActorKind.ADMIN):
        return Role.OWNER
    if actor.kind != ActorKind.STAFF or actor.user_id is None:
        return None
    if actor.business_id == business.pk and actor.role:
        return actor.role
    with scopes_disabled():
        role: str | None = (
            Membership.objects.filter(business=business, user_id=actor.user_id)
            .values_list("role", flat=True)
            .first()
        )
    return role


def _valid_role(role: str) -> str:
    if role not in Role.values:
        raise InvalidRole()
    return str(role)


def _own_locations(business: Business, location_ids: Iterable[int]) -> list[Location]:
    """The business's shops with these ids; ``ForeignLocation`` if any id is not one of them."""
    wanted = {int(pk) for pk in location_ids}
    if not wanted:
        return []
    with scopes_disabled():
        shops = list(Location.objects.filter(business=business, pk__in=wanted).order_by("pk"))
    if len(shops) != len(wanted):
        raise ForeignLocation()
    return shops


def _location_ids(row: Membership | Invitation) -> list[int]:
    with scopes_disabled():
        return [shop.pk for shop in row.locations.all()]


def _lock(business: Business) -> None:
    Business.objects.select_for_update().filter(pk=business.pk).first()


def _locked_membership(business: Business, membership: Membership) -> Membership:
    with scopes_disabled():
        return (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(business=business, pk=membership.pk)
        )


def _locked_invitation(business: Business, invitation: Invitation) -> Invitation:
    with scopes_disabled():
        return (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("business", "invited_by")
            .get(business=business, pk=invitation.pk)
        )


def _usable_invitation(token: str) -> Invitation:
    """The invitation of this token, locked, and usable now; inside a transaction."""
    found = find_invitation(token)
    if found is None:
        raise InvitationInvalid()
    _lock(found.business)
    invitation = _locked_invitation(found.business, found)
    if not tokens.secret_matches(token, invitation.token_hash):  # resent meanwhile
        raise InvitationInvalid()
    check_usable(invitation)
    return invitation


def _check_not_closed(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise InvitationUsed()
    if invitation.cancelled_at is not None:
        raise InvitationCancelled()


def _join(invitation: Invitation, user: User) -> Membership:
    """Use the invitation up and make the membership (inside the caller's transaction)."""
    business = invitation.business
    if Membership.objects.filter(business=business, user=user).exists():
        raise AlreadyMember()
    shops = list(invitation.locations.all())
    if invitation.limited and not shops:
        raise InvitationOutdated()
    # Whoever sent it must still be allowed to grant it.
    sender = Actor(kind=ActorKind.STAFF, user_id=invitation.invited_by_id)
    try:
        _check_may_manage(
            sender, business, role=invitation.role, location_ids=[shop.pk for shop in shops]
        )
    except (NotAllowed, OwnersOnly) as stale:
        raise InvitationOutdated() from stale
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership = Membership.objects.create(business=business, user=user, role=invitation.role)
    membership.locations.set(shops)
    record(
        business=business,
        actor=Actor.for_member(membership),
        action="invitation.accepted",
        target=membership,
        invitation=invitation.pk,
        role=invitation.role,
    )
    return membership


def _check_throttle(business: Business, now: datetime) -> None:
    """At most INVITATIONS_PER_HOUR sent or resent per business in the last hour (the audit
    trail counts them; the business row is locked, so two requests cannot both slip in)."""
    since = now - timedelta(hours=1)
    with scopes_disabled():
        sent = AuditEntry.objects.filter(
            business=business, action__in=_SENT, created_at__gte=since
        ).count()
    if sent >= INVITATIONS_PER_HOUR:
        raise InvitationsThrottled()


def _member_with_email(business: Business, email: str) -> bool:
    with scopes_disabled():
        return Membership.objects.filter(
            Q(user__email__iexact=email) | Q(user__username__iexact=email), business=business
        ).exists()


def _account_for(email: str, *, for_update: bool = False) -> User | None:
    users = get_user_model()
    accounts = users.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
    if for_update:
        accounts = accounts.select_for_update()
    found: User | None = accounts.first()
    return found


def _addresses_of(user: User) -> set[str]:
    return {a.strip().lower() for a in (user.email, user.get_username()) if a}


def _is_unlimited_owner(membership: Membership) -> bool:
    return membership.role == Role.OWNER and not _location_ids(membership)


def _check_other_unlimited_owner(business: Business, membership: Membership) -> None:
    with scopes_disabled():
        others = (
            Membership.objects.filter(business=business, role=Role.OWNER, locations__isnull=True)
            .exclude(pk=membership.pk)
            .exists()
        )
    if not others:
        raise LastOwner()
