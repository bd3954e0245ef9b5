"""Shared fixtures: two businesses, and one person for each answer a page can give.

- ``alice`` (``owner``) owns "Corner Cafe";
- ``maria`` manages it;
- ``bob`` works its counter (staff role), limited to its ``shop`` (not ``other_shop``);
- ``charlie`` (``other_owner``) owns "Rival Bakery": an outsider to Corner Cafe;
- ``stranger`` has an account and no business.

Every view test can then check each role's and the cross-tenant answer in one line.
"""

import contextvars
import os
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_scopes import scopes_disabled

from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Membership
from tests import emptying, factories, hashers


@pytest.fixture(autouse=True)
def _own_signup_counts(monkeypatch):
    """Sign-up counts are kept in a cache that all tests share: each test counts its own."""
    monkeypatch.setattr("stampcard.accounts.signup.THROTTLE_PREFIX", f"signup-{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def _no_scope_leak():
    """Tests build data across tenants; the code under test opens its own scopes."""
    with scopes_disabled():
        yield


class FreshContextClient(Client):
    """Sends each request from an empty context, as a real server would.

    The tests themselves run with scopes disabled; without this, that state would leak into
    the views and hide a missing tenant scope.
    """

    def request(self, **request):
        return contextvars.Context().run(super().request, **request)


@pytest.fixture
def client():
    return FreshContextClient()


@pytest.fixture
def business(db):
    return factories.BusinessFactory(name="Corner Cafe", slug="corner-cafe")


@pytest.fixture
def other_business(db):
    return factories.BusinessFactory(name="Rival Bakery", slug="rival-bakery")


@pytest.fixture
def owner(business):
    user = get_user_model().objects.create_user("owner", password="pw-owner-1234")
    factories.MembershipFactory(business=business, user=user, role="owner")
    return user


@pytest.fixture
def alice(owner):
    return owner


@pytest.fixture
def shop(business):
    return factories.LocationFactory(business=business, name="Riverside")


@pytest.fixture
def other_shop(business):
    return factories.LocationFactory(business=business, name="Old Town")


@pytest.fixture
def maria(business):
    user = get_user_model().objects.create_user("maria", password="pw-maria-1234")
    factories.MembershipFactory(business=business, user=user, role="manager")
    return user


@pytest.fixture
def bob(business, shop):
    user = get_user_model().objects.create_user("bob", password="pw-bob-1234")
    factories.MembershipFactory(business=business, user=user, role="staff", locations=[shop])
    return user


@pytest.fixture
def other_owner(other_business):
    user = get_user_model().objects.create_user("rival", password="pw-rival-1234")
    factories.MembershipFactory(business=other_business, user=user, role="owner")
    return user


@pytest.fixture
def charlie(other_owner):
    return other_owner


@pytest.fixture
def stranger(db):
    return get_user_model().objects.create_user("stranger", password="pw-stranger-1234")


@pytest.fixture
def staff_actor(owner, business):
    """The owner acting as the dashboard door would admit her."""
    return Actor.for_member(Membership.objects.get(business=business, user=owner))


@pytest.fixture
def other_staff_actor(other_owner, other_business):
    """Charlie, the rival owner, as the dashboard door admits him to his own business."""
    return Actor.for_member(Membership.objects.get(business=other_business, user=other_owner))


@pytest.fixture
def program(business):
    return factories.ProgramFactory(business=business, stamps_goal=10)


@pytest.fixture
def card(program):
    return factories.CardFactory(program=program)


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    from django.conf import settings

    # Same hasher list and order as production (a test checks new hashes are Argon2), at test cost.
    settings.PASSWORD_HASHERS = hashers.quick(settings.PASSWORD_HASHERS)
    emptying.install()


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or db['NAME']}"
