"""Pages of the refusals Django answers itself (404, 400, 403, CSRF, 500): in the visitor's
language, never Django's English defaults."""

import pytest
from django.test import Client, RequestFactory
from django.utils import translation
from django.views.defaults import server_error

from stampcard.loyalty import links
from stampcard.loyalty.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_language_afterwards():
    """A request refused before its view (CSRF) leaves its language active in this thread."""
    yield
    translation.deactivate()


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("th", "ไม่พบหน้านี้"),
        ("ru", "Страница не найдена"),
        ("kk", "Бет табылмады"),
        ("uk", "Сторінку не знайдено"),
        ("en", "Page not found"),
    ],
)
def test_a_wrong_card_address_is_not_found_in_the_visitors_language(client, language, sentence):
    response = client.get("/c/" + "x" * 43 + "/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    page = response.content.decode()
    assert sentence in page
    assert "The requested resource was not found" not in page


def test_a_join_page_of_an_archived_program_is_not_found_in_thai(client, program):
    program.status = "archived"
    program.save()
    response = client.get(links.join_path(program), HTTP_ACCEPT_LANGUAGE="th")
    assert response.status_code == 404
    assert "ไม่พบหน้านี้" in response.content.decode()


def test_a_join_without_its_csrf_token_is_refused_in_russian(program):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(links.join_path(program), {"name": "Ann"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Форма не отправлена" in page
    assert "CSRF" not in page
    assert Customer.objects.count() == 0


def test_a_query_string_of_too_many_fields_is_refused_in_thai(client, program):
    flood = "&".join(f"f{i}=1" for i in range(5000))
    response = client.get(f"{links.join_path(program)}?{flood}", HTTP_ACCEPT_LANGUAGE="th")
    assert response.status_code == 400
    assert "อ่านคำขอไม่ได้" in response.content.decode()


def test_a_server_error_page_speaks_the_visitors_language():
    with translation.override("uk"):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Щось пішло не так" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("th", "หน้านี้ทำแบบนั้นไม่ได้"),
        ("ru", "Эта страница так не умеет"),
        ("kk", "Бұл бет мұны істей алмайды"),
        ("uk", "Ця сторінка так не вміє"),
        ("en", "This page cannot do that"),
    ],
)
def test_a_wrong_method_on_a_page_is_answered_in_the_visitors_language(
    client, program, language, sentence
):
    response = client.put(
        links.join_path(program), HTTP_ACCEPT_LANGUAGE=language, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response["Content-Type"].startswith("text/html")
    assert sentence in response.content.decode()


def test_a_caller_that_asks_for_json_keeps_the_plain_405(client, program):
    response = client.put(links.join_path(program), HTTP_ACCEPT="application/json")
    assert response.status_code == 405
    assert response.content == b""


def test_a_script_asking_for_anything_keeps_the_plain_405(client, program):
    response = client.put(links.join_path(program), HTTP_ACCEPT="*/*")
    assert response.status_code == 405
    assert response.content == b""
