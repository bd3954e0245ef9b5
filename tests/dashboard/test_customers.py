"""The customers pages: list, search and filters, profile, corrections, CSV, erasure."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stampcard.audit.models import AuditEntry
from stampcard.loyalty.models import (
    Card,
    Customer,
    JoinChannel,
    Reward,
    RewardStatus,
    StampEvent,
    StampSource,
)
from stampcard.loyalty.services import add_stamps
from stampcard.loyalty.services.customers import PAGE_SIZE, erase_customer
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.vouchers.services import issue_manual_voucher
from tests import factories


def url(business, name="customers", **kwargs):
    return reverse(f"dashboard:{name}", kwargs={"business_slug": business.slug, **kwargs})


def stamp(card, user, location=None, times=1):
    for _ in range(times):
        add_stamps(
            business=card.business,
            actor=Actor(
                kind=ActorKind.STAFF,
                user_id=user.pk,
                location_id=location.pk if location else None,
            ),
            source=StampSource.STAFF,
            card_id=card.pk,
        )


@pytest.fixture
def people(business, program):
    """Three customers: Anna (recent, stamps at the shop), Boris (old), Chai (imported)."""
    anna = factories.CardFactory(
        program=program,
        customer__name="Anna Smith",
        customer__email="anna@example.org",
        customer__phone="+66812345678",
    )
    boris = factories.CardFactory(program=program, customer__name="Boris Ivanov")
    chai = factories.CardFactory(
        program=factories.ProgramFactory(business=business, name="Noodle card"),
        customer__name="Chai Wong",
        customer__join_channel=JoinChannel.IMPORT,
    )
    return anna, boris, chai


def names(response):
    page = response.content.decode()
    return {name for name in ("Anna Smith", "Boris Ivanov", "Chai Wong") if name in page}


def test_list_and_search_by_name_email_phone_and_code(client, owner, business, people):
    anna, _boris, _chai = people
    client.force_login(owner)
    assert names(client.get(url(business))) == {"Anna Smith", "Boris Ivanov", "Chai Wong"}
    for query in ("anna", "ANNA@EXAMPLE", "812345", anna.display_code, anna.code.lower()):
        assert names(client.get(url(business), {"q": query})) == {"Anna Smith"}, query


def test_staff_find_by_the_whole_email_or_phone_only(client, bob, business, people):
    client.force_login(bob)
    assert names(client.get(url(business), {"q": "anna@example"})) == set()
    assert names(client.get(url(business), {"q": "812345"})) == set()
    assert names(client.get(url(business), {"q": "anna@example.org"})) == {"Anna Smith"}
    assert names(client.get(url(business), {"q": "+66 81 234 5678"})) == {"Anna Smith"}
    page = client.get(url(business)).content.decode()
    assert "anna@example.org" not in page  # masked for the counter
    assert "a•••@example.org" in page


def test_filters(client, owner, business, people, shop, other_shop):
    anna, boris, chai = people
    stamp(anna, owner, shop, times=3)
    stamp(boris, owner, other_shop)
    Card.objects.filter(pk=boris.pk).update(last_stamp_at=timezone.now() - timedelta(days=60))
    Reward.objects.create(
        business=business,
        card=chai,
        kind="simple",
        status=RewardStatus.READY,
        cycle=1,
        stamps_used=10,
        created_at=timezone.now(),
    )
    # A reward handed over is not waiting.
    Reward.objects.create(
        business=business,
        card=anna,
        kind="simple",
        status=RewardStatus.REDEEMED,
        cycle=1,
        stamps_used=10,
        created_at=timezone.now(),
        settled_at=timezone.now(),
    )
    client.force_login(owner)
    rows = client.get(url(business)).context["page"].rows
    assert {row.name: row.rewards_waiting for row in rows} == {
        "Anna Smith": False,
        "Boris Ivanov": False,
        "Chai Wong": True,
    }
    get = lambda **q: names(client.get(url(business), q))  # noqa: E731
    assert get(last_visit="30") == {"Anna Smith"}
    assert get(last_visit="-30") == {"Boris Ivanov", "Chai Wong"}
    assert get(min_stamps="2") == {"Anna Smith"}
    assert get(rewards="1") == {"Chai Wong"}
    assert get(program=str(chai.program_id)) == {"Chai Wong"}
    assert get(location=str(other_shop.pk)) == {"Boris Ivanov"}
    assert get(channel="import") == {"Chai Wong"}
    assert get(channel="import", q="anna") == set()
    # Nonsense in a filter is ignored, never an error.
    assert (
        client.get(url(business), {"min_stamps": "x", "after": "-1", "q": "\x00"}).status_code
        == 200
    )


def test_the_list_is_paged_without_a_query_per_row(client, owner, business, program):
    for _ in range(PAGE_SIZE + 5):
        factories.CardFactory(program=program)
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(url(business))
    assert first.status_code == 200
    assert len(first.context["page"].rows) == PAGE_SIZE
    after = first.context["page"].next_after
    assert after is not None
    assert len(queries) < 20
    assert not any("COUNT(*)" in q["sql"] for q in queries.captured_queries)
    second = client.get(url(business), {"after": after})
    assert len(second.context["page"].rows) == 5
    assert second.context["page"].next_after is None


def test_profile_shows_stamps_rewards_and_vouchers(client, owner, business, people, staff_actor):
    anna, *_ = people
    stamp(anna, owner, times=2)
    issue_manual_voucher(business=business, actor=staff_actor, title="Birthday cake", card=anna)
    client.force_login(owner)
    page = client.get(url(business, "customer", customer_id=anna.customer_id)).content.decode()
    assert "Anna Smith" in page
    assert "Birthday cake" in page
    assert page.count("+1") >= 2
    assert anna.display_code in page


def test_correction_with_a_reason(client, owner, business, people):
    anna, *_ = people
    stamp(anna, owner, times=3)
    client.force_login(owner)
    correct = url(business, "customer_correct", customer_id=anna.customer_id)
    refused = client.post(correct, {"card": anna.pk, "delta": "-1", "reason": ""})
    assert refused.status_code == 400
    too_many = client.post(correct, {"card": anna.pk, "delta": "-9", "reason": "oops"})
    assert too_many.status_code == 400
    assert "below" in too_many.content.decode() or "0" in too_many.content.decode()
    done = client.post(correct, {"card": anna.pk, "delta": "-1", "reason": "Double scan"})
    assert done.status_code == 302
    # Back on the profile, with the stamp history open where the correction shows.
    assert done["Location"] == url(business, "customer", customer_id=anna.customer_id) + (
        "?open=stamps#stamps"
    )
    anna.refresh_from_db()
    assert anna.stamps == 2
    assert StampEvent.objects.filter(card=anna, kind="correction", reason="Double scan").exists()


def test_a_card_of_another_customer_cannot_be_corrected_through_this_one(
    client, owner, business, people
):
    anna, boris, _ = people
    stamp(boris, owner)
    client.force_login(owner)
    response = client.post(
        url(business, "customer_correct", customer_id=anna.customer_id),
        {"card": boris.pk, "delta": "-1", "reason": "x"},
    )
    assert response.status_code == 400
    boris.refresh_from_db()
    assert boris.stamps == 1


def test_export_is_csv_safe_from_formulas(client, owner, business, program):
    factories.CardFactory(program=program, customer__name='=HYPERLINK("http://x")')
    client.force_login(owner)
    response = client.get(url(business, "customers_export"))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["name", "email", "phone"]
    assert rows[1][0] == '\'=HYPERLINK("http://x")'
    assert AuditEntry.objects.filter(action="customers.exported").count() == 1


def upload(text: str, name="customers.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), "text/csv")


def test_import_all_good_rows(client, owner, business, program, people):
    _anna, *_ = people
    client.force_login(owner)
    text = (
        "name,email,phone,birthday,language,marketing_consent\n"
        "Dina,dina@example.org,,1990-04-30,th,yes\n"
        "Anna again,ANNA@example.org,,,,\n"
        "\n"
        "Eve,,+66 81 111 2222,,,no\n"
    )
    response = client.post(
        url(business, "customers_import"), {"program": program.pk, "file": upload(text)}
    )
    assert response.status_code == 200
    assert "Imported: 2 new customers." in response.content.decode()
    assert "1 customer was already known." in response.content.decode()
    dina = Customer.objects.get(email="dina@example.org")
    assert (dina.language, dina.marketing_consent, dina.join_channel) == ("th", True, "import")
    assert dina.cards.get().program == program
    assert Customer.objects.filter(business=business, email="anna@example.org").count() == 1


def test_import_with_bad_rows_imports_nothing_and_lists_each_row(client, owner, business, program):
    client.force_login(owner)
    before = Customer.objects.count()
    text = (
        "name,email,phone,birthday,language,marketing_consent\n"
        "Good Person,good@example.org,,,,\n"
        "Bad Mail,not-an-email,,,,\n"
        "Bad Day,bd@example.org,,30/04/1990,,\n"
        "Twice,good@example.org,,,,\n"
        "Lang,l@example.org,,,xx,\n"
        ",,,,,\n"
        "Phone,,12,,,\n"
        "Consent,c@example.org,,,,maybe\n"
    )
    response = client.post(
        url(business, "customers_import"), {"program": program.pk, "file": upload(text)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    for line in (3, 4, 5, 6, 8, 9):
        assert f"<td>{line}</td>" in page, line
    assert "<td>2</td>" not in page
    assert "<td>7</td>" not in page
    assert Customer.objects.count() == before
    assert not AuditEntry.objects.filter(action="customers.imported").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe n\x00a\x00", "not UTF-8"),
        (b"who,what\nx,y\n", "must name the columns"),
        (b"name\n", "no customers"),
        (b"name\n" + b"x\n" * 5001, "at most 5000"),
        (b"name\n" + b"a" * (2 * 1024 * 1024), "larger than 2 MB"),
        (b'name\n"unterminated\x00\n', "cannot be saved"),
    ],
    ids=["encoding", "header", "empty", "rows", "size", "nul"],
)
def test_hostile_files_are_refused_whole(client, owner, business, program, data, message):
    client.force_login(owner)
    response = client.post(
        url(business, "customers_import"), {"program": program.pk, "file": _raw(data)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Customer.objects.filter(join_channel="import").exists()


def _raw(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("c.csv", data, "text/csv")


def test_import_into_another_business_program_is_refused(client, owner, business, other_business):
    foreign = factories.ProgramFactory(business=other_business)
    client.force_login(owner)
    response = client.post(
        url(business, "customers_import"),
        {"program": foreign.pk, "file": upload("name\nX\n")},
    )
    assert response.status_code == 400
    assert not Customer.objects.filter(name="X").exists()


def test_erase_keeps_the_ledger_with_the_person_anonymised(client, owner, business, people):
    anna, *_ = people
    stamp(anna, owner, times=2)
    client.force_login(owner)
    erase = url(business, "customer_erase", customer_id=anna.customer_id)
    assert "Anna Smith" in client.get(erase).content.decode()
    assert client.post(erase).status_code == 302
    customer = Customer.objects.get(pk=anna.customer_id)
    assert (customer.name, customer.email, str(customer.phone), customer.birthday) == (
        "",
        "",
        "",
        None,
    )
    assert StampEvent.objects.filter(card=anna).count() == 2
    anna.refresh_from_db()
    assert anna.stamps == 2
    entry = AuditEntry.objects.get(action="customer.erased")
    assert "anna" not in str(entry.details).lower()
    assert OutboxMessage.objects.filter(topic="card.changed", payload__card_id=anna.pk).exists()
    page = client.get(url(business, "customer", customer_id=anna.customer_id)).content.decode()
    assert "Anna" not in page
    assert "anna@example.org" not in page
    assert "Erased customer" in page


def test_erase_needs_a_manager(client, bob, business, people, staff_actor):
    anna, *_ = people
    client.force_login(bob)
    assert (
        client.post(url(business, "customer_erase", customer_id=anna.customer_id)).status_code
        == 403
    )
    assert Customer.objects.get(pk=anna.customer_id).name == "Anna Smith"


def test_erase_service_refuses_another_business_customer(other_staff_actor, business, people):
    from stampcard.loyalty.services.customers import CustomerNotFound

    anna, *_ = people
    with pytest.raises(CustomerNotFound):
        erase_customer(
            business=other_staff_actor_business(other_staff_actor),
            actor=other_staff_actor,
            customer=anna.customer,
        )
    assert Customer.objects.get(pk=anna.customer_id).name == "Anna Smith"


def other_staff_actor_business(actor):
    from stampcard.tenancy.models import Business

    return Business.objects.get(pk=actor.business_id)
