"""Who must give a second factor, and who is asked to set one up."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django_otp import user_has_device
from django_scopes import scopes_disabled

from stampcard.tenancy.models import Membership, Role

AnyUser = AbstractBaseUser | AnonymousUser


def has_device(user: AnyUser) -> bool:
    return user.is_authenticated and user_has_device(user, confirmed=True)


def should_use_two_factor(user: AnyUser) -> bool:
    """Owners of a business and platform operators (staff or superusers)."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    with scopes_disabled():  # a user's own memberships, across the businesses they belong to
        return Membership.objects.filter(user_id=user.pk, role=Role.OWNER).exists()


def is_verified(user: AnyUser) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def needs_verification(user: AnyUser) -> bool:
    """Signed in with a password, holds a device, has not given its code in this session."""
    return user.is_authenticated and not is_verified(user) and has_device(user)


def needs_setup(user: AnyUser) -> bool:
    """Should set up a device before going on (when OTP_REQUIRED) or be reminded to."""
    return (
        user.is_authenticated
        and not is_verified(user)
        and not has_device(user)
        and should_use_two_factor(user)
    )


def setup_required() -> bool:
    return bool(settings.OTP_REQUIRED)
