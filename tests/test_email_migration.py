"""Addresses kept before the domain had one form are folded into it, never merging people."""

import importlib

import pytest
from django.apps import apps

from stampcard.loyalty.models import Customer
from tests import factories

pytestmark = pytest.mark.django_db

normalise = importlib.import_module(
    "stampcard.loyalty.migrations.0015_normalise_customer_emails"
).normalise


def kept(business, email):
    # As the old code kept it: written past the cleaning the services do now.
    customer = factories.CustomerFactory(business=business)
    Customer.objects.filter(pk=customer.pk).update(email=email)
    return customer.pk


def emails(*pks):
    return [Customer.objects.get(pk=pk).email for pk in pks]


def test_old_addresses_are_folded_into_the_one_form(business):
    full_width = kept(business, "Bo@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.org")
    capitals = kept(business, "Cy@Example.ORG")
    decomposed = kept(business, "di@exa\u0308mple.org")
    already = kept(business, "ed@example.org")
    broken = kept(business, "fay@exa\u202emple.org")  # refused now: left for staff
    normalise(apps, None)
    assert emails(full_width, capitals, decomposed, already, broken) == [
        "bo@example.org",
        "cy@example.org",
        "di@ex\u00e4mple.org",
        "ed@example.org",
        "fay@exa\u202emple.org",
    ]


def test_two_customers_folding_onto_one_address_are_kept_apart(business, other_business):
    earlier = kept(business, "Ann@EXAMPLE.org")
    later = kept(business, "ann@Example.org")
    elsewhere = kept(other_business, "ANN@example.org")  # another business's: its own person
    normalise(apps, None)
    assert emails(earlier, later, elsewhere) == [
        "ann@example.org",
        "ann@Example.org",
        "ann@example.org",
    ]
    assert Customer.objects.count() == 3


def test_a_later_old_address_meeting_a_normal_one_is_left_as_it_was(business):
    normal = kept(business, "ann@example.org")
    later = kept(business, "ANN@EXAMPLE.ORG")
    normalise(apps, None)
    assert emails(normal, later) == ["ann@example.org", "ANN@EXAMPLE.ORG"]
