"""What each actor may do: the one table every view and service consults.

Staff roles, device kinds and the other actor kinds each map to a set of ``Permission``; a
member or a device limited to some locations may only act there.

**In a service**, check before writing, with the business the service was given::

    from stampcard.tenancy.permissions import Permission, require

    def add_stamps(*, business, actor, ..., location_id=None):
        require(actor, Permission.STAMP, business=business, location_id=location_id)

``require`` raises ``tenancy.errors.NotAllowed`` (a ``Refusal`` with code ``not_allowed`` and
a ``PermissionDenied``, so a view answers 403). ``allows`` is the same check returning a bool.
``location_id`` defaults to the actor's own location (a device's, or where a member stands).
Actors built by a door (``Actor.for_member``, ``Actor.for_device``) are decided without a
query. A staff or device actor built by hand without them (``Actor(kind=STAFF, user_id=…)``)
is looked up once: its membership or active device in ``business`` decides, and without one it
may do nothing.

**In a dashboard view**, ``tenancy.decorators.requires(Permission.X)``.

**What each write service asks** (first thing, before it reads what it will change):

- ``add_stamps``: ``STAMP``, except a receipt stamp, which asks ``CLAIM_CODES``. A receipt
  stamp is authorised by the claim code it consumes in the same transaction, so only
  ``vouchers.claims.claim_code`` and ``vouchers.receipts.claim_receipt`` (a receipt code a
  POS signed) stamp from that source (a test holds it to that); each asks ``CLAIM_CODES``
  before it takes the code. This is how a customer, whose door grants no
  ``STAMP``, adds stamps to their own card: with a code printed on a receipt, nothing else.
- ``correct_stamps``: ``CORRECT_STAMPS``; ``hand_over_reward``: ``REDEEM`` (at the counter).
- ``issue_voucher`` and ``void_voucher``: ``ISSUE_VOUCHERS`` (the goal voucher is issued by
  the engine as ``Actor.system()``).
- ``redeem_voucher``: ``REDEEM`` for staff-scan and redeem-code vouchers, ``SELF_REDEEM`` for
  self-redeem ones (``vouchers.services.redeeming.REDEEM_PERMISSION``); which kinds of actor
  fit a redemption method at all is the vouchers' own rule (``REDEEMERS``).
- code pools (create, generate, import, download the unused codes), ``create_claim_batch``
  and the receipt signing keys (``create_receipt_key``, ``revoke_receipt_key``):
  ``MANAGE_CODES``.
- ``save_program`` and ``set_program_status`` (loyalty.services.programs):
  ``MANAGE_PROGRAMS``; ``add_location`` and ``change_business_settings``:
  ``MANAGE_BUSINESS``, for an unlimited actor.
- ``pair_device``, ``rename_device``, ``revoke_device``, ``create_pairing_code`` and
  ``cancel_pairing_code``: ``MANAGE_DEVICES`` at the device's (or code's) location;
  ``move_device`` at both the old and the new one.
- ``import_customers``, ``export_rows`` and ``erase_customer`` (``loyalty.services.customers``):
  ``MANAGE_CUSTOMERS``, managers' and owners': they move or remove customers' personal data.
- ``start_hand_over`` (``customer.hand_over``, a one-time QR that opens a card on the
  customer's own phone): ``VIEW_CONTACT_DETAILS``, asked again when the link is opened.
- ``enroll_customer`` asks nothing and takes no actor: joining is open to whoever holds the
  program's join link, which its door checks. A view that enrols for someone else (at the
  counter, an import) asks its own permission first.

**Location limits.** A limited actor acts only at its locations: counter actions (stamp,
redeem) need a location, and it must be one of them. What it creates or changes (a device, a
member) must stay inside its locations too (``require_within``): a business-wide device or an
unlimited member needs an unlimited actor, so nobody widens their own reach. On the dashboard
it sees only ledger rows, redeemed vouchers and audit entries of its locations, plus those
with no location at all: such rows are business-wide (a correction or a voucher issued from
the dashboard, a receipt claim, the system), not another shop's.

**Customers' personal data.** The staff role sees customers' names, but their e-mail and phone
masked (``j•••@example.org``, ``+66 ••• ••• 678``): a cashier needs to recognise a customer,
not to copy a contact list. They still find a card by the *full* e-mail or phone (the customer
who forgot the phone says it aloud), never by a part of it, which would uncover the masked
value letter by letter. Managers and owners (``VIEW_CONTACT_DETAILS``) see everything.
"""

import dataclasses
from collections.abc import Iterable
from enum import StrEnum

from django_scopes import scopes_disabled

from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Business, Device, DeviceKind, Membership, Role


class Permission(StrEnum):
    VIEW = "view"
    STAMP = "stamp"
    REDEEM = "redeem"
    SELF_REDEEM = "self_redeem"
    CORRECT_STAMPS = "correct_stamps"
    ISSUE_VOUCHERS = "issue_vouchers"
    MANAGE_PROGRAMS = "manage_programs"
    MANAGE_CODES = "manage_codes"
    MANAGE_DEVICES = "manage_devices"
    MANAGE_STAFF = "manage_staff"
    MANAGE_BUSINESS = "manage_business"
    VIEW_AUDIT = "view_audit"
    VIEW_CONTACT_DETAILS = "view_contact_details"
    CLAIM_CODES = "claim_codes"
    MANAGE_CUSTOMERS = "manage_customers"
    # Business-wide figures and everything the business owns: only for a member limited to
    # no location (the views check it with ``require_within(..., location_ids=None)``).
    VIEW_ANALYTICS = "view_analytics"
    EXPORT_DATA = "export_data"


_COUNTER = {
    Permission.VIEW,
    Permission.STAMP,
    Permission.REDEEM,
    Permission.SELF_REDEEM,
    Permission.CLAIM_CODES,
}
_MANAGER = _COUNTER | {
    Permission.CORRECT_STAMPS,
    Permission.ISSUE_VOUCHERS,
    Permission.MANAGE_PROGRAMS,
    Permission.MANAGE_CODES,
    Permission.MANAGE_DEVICES,
    Permission.VIEW_AUDIT,
    Permission.VIEW_CONTACT_DETAILS,
    Permission.MANAGE_CUSTOMERS,
    Permission.VIEW_ANALYTICS,
}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.STAFF: frozenset(_COUNTER),
    Role.MANAGER: frozenset(_MANAGER),
    # The business's own settings and its locations are the owner's.
    Role.OWNER: frozenset(
        _MANAGER | {Permission.MANAGE_STAFF, Permission.MANAGE_BUSINESS, Permission.EXPORT_DATA}
    ),
}
DEVICE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    # Operated by staff: stamps, redeems and claims the codes the customer shows.
    DeviceKind.SCANNER: frozenset({Permission.STAMP, Permission.REDEEM, Permission.CLAIM_CODES}),
    # Operated by the customer: stamps, claims receipt codes, and looks up vouchers the
    # customer redeems themself.
    DeviceKind.KIOSK: frozenset({Permission.STAMP, Permission.SELF_REDEEM, Permission.CLAIM_CODES}),
    # A keyboard-wedge scanner typing card codes: stamps only.
    DeviceKind.AUTOPILOT: frozenset({Permission.STAMP}),
}
KIND_PERMISSIONS: dict[str, frozenset[Permission]] = {
    # Background work and platform operators act for the business as a whole.
    ActorKind.SYSTEM: frozenset(Permission),
    ActorKind.ADMIN: frozenset(Permission),
    # A customer's door admits them to their own card or voucher only: they redeem their own
    # self-redeem vouchers and claim receipt codes for their own card.
    ActorKind.CUSTOMER: frozenset({Permission.SELF_REDEEM, Permission.CLAIM_CODES}),
    # API keys will bring their own scopes; until then an API actor may do nothing.
    ActorKind.API: frozenset(),
}
# Done at a counter: a location-limited actor must say where, and it must be one of its own.
# A receipt claim is not: like a correction it is business-wide (it may happen anywhere).
_AT_A_LOCATION = frozenset({Permission.STAMP, Permission.REDEEM, Permission.SELF_REDEEM})


def allows(
    actor: Actor,
    permission: Permission,
    *,
    business: Business | int,
    location_id: int | None = None,
) -> bool:
    """Whether ``actor`` may do this in ``business``, at this location when one is given."""
    known = _granted_in(actor, permission, business)
    if known is None:
        return False
    if not known.location_ids:
        return True
    where = location_id if location_id is not None else known.location_id
    if where is None:
        return permission not in _AT_A_LOCATION
    return where in known.location_ids


def require(
    actor: Actor,
    permission: Permission,
    *,
    business: Business | int,
    location_id: int | None = None,
) -> None:
    """Raise ``NotAllowed`` unless ``allows(...)``; call it first thing in a service."""
    if not allows(actor, permission, business=business, location_id=location_id):
        raise NotAllowed()


def allows_within(
    actor: Actor,
    permission: Permission,
    *,
    business: Business | int,
    location_ids: Iterable[int] | None,
) -> bool:
    """Whether ``actor`` may create or change something that acts at ``location_ids``.

    No locations (``None`` or empty) means business-wide: only an unlimited actor may make or
    change such a thing. A limited actor may only touch things that stay inside its own
    locations, so it can never hand itself or anyone else more reach than it has.
    """
    known = _granted_in(actor, permission, business)
    if known is None:
        return False
    if not known.location_ids:
        return True
    wanted = frozenset(location_ids or ())
    return bool(wanted) and wanted <= known.location_ids


def require_within(
    actor: Actor,
    permission: Permission,
    *,
    business: Business | int,
    location_ids: Iterable[int] | None,
) -> None:
    """Raise ``NotAllowed`` unless ``allows_within(...)``: pairing or revoking a device, adding
    or changing a member."""
    if not allows_within(actor, permission, business=business, location_ids=location_ids):
        raise NotAllowed()


def _granted_in(actor: Actor, permission: Permission, business: Business | int) -> Actor | None:
    """The actor as known in ``business`` if its role or kind grants ``permission`` there."""
    business_id = business if isinstance(business, int) else business.pk
    known = _resolved(actor, business_id)
    if known is None or (known.business_id is not None and known.business_id != business_id):
        return None
    return known if permission in _granted(known) else None


def _granted(actor: Actor) -> frozenset[Permission]:
    if actor.kind == ActorKind.STAFF:
        return ROLE_PERMISSIONS.get(actor.role or "", frozenset())
    if actor.kind == ActorKind.DEVICE:
        return DEVICE_PERMISSIONS.get(actor.device_kind or "", frozenset())
    return KIND_PERMISSIONS.get(actor.kind, frozenset())


def _resolved(actor: Actor, business_id: int) -> Actor | None:
    """The actor with its role or device kind, read from the database if no door set them."""
    if actor.business_id is not None or actor.kind not in (ActorKind.STAFF, ActorKind.DEVICE):
        return actor
    with scopes_disabled():
        if actor.kind == ActorKind.STAFF and actor.user_id is not None:
            membership = (
                Membership.objects.prefetch_related("locations")
                .filter(business_id=business_id, user_id=actor.user_id)
                .first()
            )
            if membership is not None:
                member = Actor.for_member(membership)
                return dataclasses.replace(
                    member, location_id=actor.location_id, ip_address=actor.ip_address
                )
        if actor.kind == ActorKind.DEVICE and actor.device_id is not None:
            device = Device.objects.filter(
                pk=actor.device_id, business_id=business_id, revoked_at__isnull=True
            ).first()
            if device is not None:
                return Actor.for_device(device, ip_address=actor.ip_address)
    return None


def has_permission(
    membership: Membership, permission: Permission, *, location_id: int | None = None
) -> bool:
    """Whether the member may do this, at this location when one is given."""
    return allows(
        Actor.for_member(membership),
        permission,
        business=membership.business_id,
        location_id=location_id,
    )
