"""Self-Redeem from the web card: a deliberate confirmation, consumed once, a live state after."""

import pytest
from django.urls import reverse

from stampcard.outbox.models import OutboxMessage, Topic
from stampcard.vouchers.models import Voucher, VoucherOrigin, VoucherStatus
from stampcard.vouchers.services import issue_voucher
from tests import factories

pytestmark = pytest.mark.django_db


def give(card, method="self", **extra):
    manager = factories.member_actor(card.business, role="manager")
    return issue_voucher(
        business=card.business,
        actor=manager,
        card=card,
        title="Free cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method=method,
        **extra,
    )


def url(card, voucher):
    return reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk})


def test_the_card_links_a_self_redeem_voucher_to_its_page(client, card):
    voucher = give(card)
    staff_scan = give(card, method="staff_scan")
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token})).content
    assert url(card, voucher).encode() in page
    assert url(card, staff_scan).encode() not in page


def test_a_hold_redeems_once_and_shows_the_live_state(client, card):
    voucher = give(card)
    assert b"Hold to redeem" in client.get(url(card, voucher)).content
    response = client.post(url(card, voucher), {"held": "1"})
    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.REDEEMED
    assert voucher.redeemed_by_kind == "customer"
    assert OutboxMessage.objects.filter(topic=Topic.VOUCHER_REDEEMED).count() == 1
    page = client.get(url(card, voucher)).content.decode()
    assert "Redeemed at" in page
    assert "data-live-clock" in page
    assert "Hold to redeem" not in page
    # A second hold (another tab, a replay) consumes nothing more.
    again = client.post(url(card, voucher), {"held": "1"})
    assert again.status_code == 200
    assert OutboxMessage.objects.filter(topic=Topic.VOUCHER_REDEEMED).count() == 1


def test_a_plain_post_without_the_gesture_redeems_nothing(client, card):
    voucher = give(card)
    response = client.post(url(card, voucher), {})
    assert response.status_code == 400
    assert "Hold the button" in response.content.decode()
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ACTIVE


def test_other_methods_other_cards_and_absurd_ids_are_not_found(client, card):
    staff_scan = give(card, method="staff_scan")
    assert client.post(url(card, staff_scan), {"held": "1"}).status_code == 404
    other = factories.CardFactory(program=card.program)
    theirs = give(other)
    assert client.post(url(card, theirs), {"held": "1"}).status_code == 404
    assert client.get(f"/c/{card.token}/v/{2**70}/").status_code == 404
    assert Voucher.objects.filter(status=VoucherStatus.REDEEMED).count() == 0


def test_a_void_voucher_is_explained_in_the_customers_language(client, card):
    voucher = give(card)
    Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.VOID)
    response = client.post(url(card, voucher), {"held": "1"}, HTTP_ACCEPT_LANGUAGE="uk")
    assert response.status_code == 409
    assert "Цей ваучер анульовано." in response.content.decode()


SVG_PICTURE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100">'
    b'<rect width="300" height="100" fill="#0a0"/><script>alert(1)</script></svg>'
)


def picture_url(card, voucher):
    return reverse(
        "customer:voucher_picture", kwargs={"card_token": card.token, "voucher_id": voucher.pk}
    )


def test_the_voucher_page_and_the_card_show_the_picture_as_drawn_again(
    client, card, settings, tmp_path
):
    from stampcard.uploads import clean_image

    settings.MEDIA_ROOT = tmp_path / "media"
    voucher = give(card, image=clean_image(SVG_PICTURE))
    staff_scan = give(card, method="staff_scan", image=clean_image(SVG_PICTURE))
    plain = give(card)
    here = picture_url(card, voucher)
    assert f'<img class="c-voucher-picture" src="{here}"' in client.get(url(card, voucher)).text
    page = client.get(reverse("customer:card", kwargs={"card_token": card.token})).text
    assert here in page
    assert picture_url(card, staff_scan) in page
    assert picture_url(card, plain) not in page
    # The rasterised picture, never the SVG that was uploaded.
    response = client.get(here)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert b"<svg" not in response.content
    assert b"script" not in response.content
    assert response["Cache-Control"].startswith("private")
    assert client.get(picture_url(card, plain)).status_code == 404
    # Behind the card's door: another card's token finds nothing.
    other = factories.CardFactory(program=card.program)
    assert client.get(picture_url(other, voucher)).status_code == 404


def test_a_picture_name_that_is_not_a_vouchers_picture_is_never_served(
    client, card, settings, tmp_path
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    settings.MEDIA_ROOT = tmp_path / "media"
    secret = default_storage.save("logos/secret.png", ContentFile(b"\x89PNG\r\n\x1a\nsecret"))
    voucher = give(card)
    Voucher.objects.filter(pk=voucher.pk).update(image=secret)
    assert picture_url(card, voucher) not in client.get(url(card, voucher)).text
    assert client.get(picture_url(card, voucher)).status_code == 404
