"""Finding a customer by a phone number typed the local way ("081 234 5678"), though kept in
E.164 (+66812345678): in the customers list, the overview's card search, Issue Voucher's
customer search and the counter's "forgot the phone", through the trigram index."""

import pytest
from django.db import connection
from django.urls import reverse

from stampcard.counter.cards import search_cards
from stampcard.loyalty.models import Customer
from stampcard.loyalty.services.contacts import PhoneQuery, phone_query
from stampcard.loyalty.services.customers import CustomerFilters, customer_page
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Membership
from tests import factories

LOCAL_WAYS = ("081 234 5678", "081-234-5678", "(081) 234-5678", "0812345678", "+66 81 234 5678")


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("081 234 5678", "TH", PhoneQuery("+66812345678", ("812345678",))),
        ("(081) 234-5678", "TH", PhoneQuery("+66812345678", ("812345678",))),
        ("+66 81 234 5678", "TH", PhoneQuery("+66812345678", ("+66812345678",))),
        ("081 234", "TH", PhoneQuery("", ("81234",))),  # a part: the trunk 0 dropped
        ("8 701 234 5678", "KZ", PhoneQuery("+77012345678", ("7012345678",))),
        ("081 234", "", PhoneQuery("", ("081234",))),  # no country: no trunk prefix known
        ("812345", "TH", PhoneQuery("", ("812345",))),
        ("08", "TH", None),  # too short for the trigram index
        ("anna 081", "TH", None),  # letters: a name, not a number
    ],
)
def test_phone_query(typed, region, expected):
    assert phone_query(typed, region=region) == expected


@pytest.fixture
def anna(business, program):
    business.country = "TH"
    business.save()
    factories.CardFactory(
        program=program, customer__name="Someone Else", customer__phone="+6621234567"
    )
    return factories.CardFactory(
        program=program, customer__name="Anna Smith", customer__phone="+66812345678"
    )


def found(business, user, query):
    actor = Actor.for_member(Membership.objects.get(business=business, user=user))
    page = customer_page(business=business, actor=actor, filters=CustomerFilters(query=query))
    return [customer.name for customer in page.rows]


@pytest.mark.parametrize("typed", [*LOCAL_WAYS, "081 234", "345-678"])
def test_who_sees_contacts_finds_a_number_typed_the_local_way_whole_or_in_part(
    business, owner, anna, typed
):
    assert found(business, owner, typed) == ["Anna Smith"]


@pytest.mark.parametrize("typed", LOCAL_WAYS)
def test_staff_find_the_whole_number_typed_the_local_way(business, bob, anna, typed):
    assert found(business, bob, typed) == ["Anna Smith"]


def test_staff_do_not_find_a_part_of_a_number(business, bob, anna):
    assert found(business, bob, "081 234") == []


@pytest.mark.parametrize("typed", ["081-234-5678", "081 234"])
def test_the_counter_finds_the_card_by_a_local_number(business, owner, anna, typed):
    actor = Actor.for_member(Membership.objects.get(business=business, user=owner))
    assert [
        row["customer"] for row in search_cards(business=business, actor=actor, query=typed)
    ] == ["Anna Smith"]


def test_the_dashboard_searches_find_a_local_number(client, business, owner, anna):
    client.force_login(owner)
    base = {"business_slug": business.slug}
    for name in ("dashboard:customers", "dashboard:business", "dashboard:voucher_customers"):
        page = client.get(reverse(name, kwargs=base), {"q": "081-234-5678"}).content.decode()
        assert "Anna Smith" in page, name
        assert "Someone Else" not in page, name


@pytest.mark.postgres
@pytest.mark.parametrize("typed", ["081 234 5678", "081 234"])
def test_the_phone_part_of_a_search_is_a_probe_of_the_trigram_index(business, owner, anna, typed):
    """Each part looked for is a LIKE the trigram index on the number serves.

    Whether PostgreSQL then probes the indexes of name, e-mail and phone or reads the
    business's customers is its choice by their number (the probes win at large numbers).
    """
    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    phone = phone_query(typed, region="TH")
    assert phone is not None
    for part in phone.parts:
        sql, params = Customer.objects.filter(phone__contains=part).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small is scanned
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "customer_phone_trgm" in plan, plan
    assert "Anna Smith" in found(business, owner, typed)
