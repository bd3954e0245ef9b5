"""Sentences with a count agree with it in every language (ngettext's plural forms)."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "name,email,phone,birthday,language,marketing_consent\n"


def import_rows(client, business, program, new: int, known: int) -> str:
    for n in range(known):
        factories.CustomerFactory(business=business, email=f"known{n}@example.org")
    rows = [f"New {n},new{n}@example.org,,,," for n in range(new)]
    rows += [f"Known {n},known{n}@example.org,,,," for n in range(known)]
    upload = SimpleUploadedFile("c.csv", (HEADER + "\n".join(rows) + "\n").encode(), "text/csv")
    response = client.post(
        reverse("dashboard:customers_import", args=[business.slug]),
        {"program": program.pk, "file": upload},
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def owner_in_russian(client, owner):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    return client


def test_the_import_result_in_english_says_one_customer_or_customers(
    client, owner, business, program
):
    client.force_login(owner)
    page = import_rows(client, business, program, new=1, known=2)
    assert "Imported: 1 new customer." in page
    assert "2 customers were already known." in page


@pytest.mark.parametrize(
    ("new", "known", "expected"),
    [
        (1, 1, ["Импортировано: 1 новый клиент.", "1 клиент уже был известен."]),
        (3, 2, ["Импортировано: 3 новых клиента.", "2 клиента уже были известны."]),
        (5, 0, ["Импортировано: 5 новых клиентов.", "0 клиентов уже были известны."]),
    ],
)
def test_the_import_result_in_russian_takes_the_plural_form_of_its_count(
    owner_in_russian, business, program, new, known, expected
):
    page = import_rows(owner_in_russian, business, program, new=new, known=known)
    for sentence in expected:
        assert sentence in page


@pytest.mark.parametrize(
    ("goal", "expected"),
    [(21, "21 штамп до награды"), (3, "3 штампа до награды"), (10, "10 штампов до награды")],
)
def test_the_card_preview_counts_stamps_in_russian(owner_in_russian, business, goal, expected):
    program = factories.ProgramFactory(business=business, stamps_goal=goal)
    page = owner_in_russian.get(reverse("dashboard:program", args=[business.slug, program.pk]))
    assert expected in page.content.decode()
