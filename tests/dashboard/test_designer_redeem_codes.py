"""The designer's Redeem Code settings: a pool with free codes is required, and how the code
is shown is kept."""

import pytest
from django.urls import reverse

from stampcard.loyalty.models import Program
from stampcard.vouchers.models import CodePool, PoolCode, VoucherTemplate
from tests.dashboard.test_program_designer import form, new_url


def smart(**voucher):
    return form(
        reward_kind="smart_voucher",
        **{"voucher-redemption_method": "redeem_code", **voucher},
    )


@pytest.fixture
def empty_pool(business):
    return CodePool.objects.create(business=business, name="Till codes", kind="imported")


@pytest.fixture
def full_pool(business):
    pool = CodePool.objects.create(business=business, name="Bakery codes", kind="generated")
    PoolCode.objects.create(business=business, pool=pool, code="ABC123")
    return pool


def test_redeem_code_without_a_pool_is_refused_and_nothing_saved(client, owner, business):
    client.force_login(owner)
    response = client.post(new_url(business), smart())
    assert response.status_code == 400
    assert "Redeem Code vouchers need a code pool" in response.content.decode()
    assert not Program.objects.filter(business=business).exists()


def test_a_pool_without_free_codes_is_refused(client, owner, business, empty_pool):
    client.force_login(owner)
    response = client.post(new_url(business), smart(**{"voucher-code_pool": str(empty_pool.pk)}))
    assert response.status_code == 400
    assert "“Till codes” has no free codes" in response.content.decode()
    assert not Program.objects.filter(business=business).exists()


def test_the_refusal_is_in_the_users_language(client, owner, business, empty_pool):
    client.force_login(owner)
    client.cookies["django_language"] = "ru"
    response = client.post(
        new_url(business),
        smart(**{"voucher-code_pool": str(empty_pool.pk)}),
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 400
    assert "нет свободных кодов" in response.content.decode()


def test_a_pool_with_free_codes_and_the_code_display_are_saved(client, owner, business, full_pool):
    client.force_login(owner)
    response = client.post(
        new_url(business),
        smart(**{"voucher-code_pool": str(full_pool.pk), "voucher-code_display": "code128"}),
    )
    assert response.status_code == 302
    template = VoucherTemplate.objects.get(program__business=business)
    assert (template.redemption_method, template.code_pool, template.code_display) == (
        "redeem_code",
        full_pool,
        "code128",
    )


def test_the_designer_offers_how_the_code_is_shown(client, owner, business):
    client.force_login(owner)
    page = client.get(new_url(business)).content.decode()
    assert 'name="voucher-code_display"' in page
    assert "Barcode (Code 128)" in page


def test_a_pool_that_ran_dry_later_does_not_block_other_changes(client, owner, business, full_pool):
    client.force_login(owner)
    chosen = smart(**{"voucher-code_pool": str(full_pool.pk)})
    assert client.post(new_url(business), chosen).status_code == 302
    program = Program.objects.get(business=business)
    PoolCode.objects.filter(pool=full_pool).delete()
    url = reverse("dashboard:program_edit", args=[business.slug, program.pk])
    assert client.post(url, {**chosen, "background_color": "#123456"}).status_code == 302
    program.refresh_from_db()
    assert program.background_color == "#123456"


def test_a_pool_of_another_business_is_not_offered(client, owner, business, other_business):
    CodePool.objects.create(business=other_business, name="Rival codes", kind="static")
    client.force_login(owner)
    assert "Rival codes" not in client.get(new_url(business)).content.decode()
