"""What each staff role may do: the one table every view and service consults."""

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from stampcard.tenancy.models import Membership, Role


class Permission(StrEnum):
    VIEW = "view"
    STAMP = "stamp"
    REDEEM = "redeem"
    CORRECT_STAMPS = "correct_stamps"
    ISSUE_VOUCHERS = "issue_vouchers"
    MANAGE_PROGRAMS = "manage_programs"
    MANAGE_CODES = "manage_codes"
    MANAGE_DEVICES = "manage_devices"
    MANAGE_STAFF = "manage_staff"
    VIEW_AUDIT = "view_audit"


_COUNTER = {Permission.VIEW, Permission.STAMP, Permission.REDEEM}
_MANAGER = _COUNTER | {
    Permission.CORRECT_STAMPS,
    Permission.ISSUE_VOUCHERS,
    Permission.MANAGE_PROGRAMS,
    Permission.MANAGE_CODES,
    Permission.MANAGE_DEVICES,
    Permission.VIEW_AUDIT,
}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.STAFF: frozenset(_COUNTER),
    Role.MANAGER: frozenset(_MANAGER),
    Role.OWNER: frozenset(_MANAGER | {Permission.MANAGE_STAFF}),
}


def has_permission(
    membership: Membership, permission: Permission, *, location_id: int | None = None
) -> bool:
    """Whether the member may do this, at this location when one is given."""
    if permission not in ROLE_PERMISSIONS[membership.role]:
        return False
    if location_id is None:
        return True
    allowed = {loc.pk for loc in membership.locations.all()}
    return not allowed or location_id in allowed


def require_permission(
    membership: Membership, permission: Permission, *, location_id: int | None = None
) -> None:
    if not has_permission(membership, permission, location_id=location_id):
        raise PermissionDenied(permission.value)
