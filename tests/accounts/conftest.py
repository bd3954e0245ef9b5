import uuid

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories

PASSWORD = "a-long-enough-password-1"


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def username():
    # Lockouts are kept by username and address, in a cache other test workers share: a name
    # of its own keeps each test's count to itself.
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def account(db, username, business):
    user = get_user_model().objects.create_user(
        username, email=f"{username}@example.com", password=PASSWORD
    )
    factories.MembershipFactory(business=business, user=user, role="owner")
    return user


@pytest.fixture
def device(account):
    return TOTPDevice.objects.create(user=account, name="phone", confirmed=True)
