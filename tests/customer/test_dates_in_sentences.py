"""A date at the end of a sentence gets one full stop in every language, never two."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from stampcard.vouchers.models import Voucher, VoucherOrigin
from stampcard.vouchers.services import issue_voucher
from tests import factories

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "th", "kk", "uk", "ru"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_filter_leaves_the_sentence_its_own_full_stop(language):
    template = Template(
        '{% load sentences %}{{ day|date_in_sentence:"DATE_FORMAT" }}.'
        '|{{ moment|date_in_sentence:"DATETIME_FORMAT" }}.'
    )
    moment = datetime(2026, 1, 5, 14, 30, tzinfo=ZoneInfo("UTC"))
    with translation.override(language):
        text = template.render(Context({"day": date(2026, 1, 5), "moment": moment}))
    assert "2026" in text
    assert ".." not in text


@pytest.mark.parametrize(("language", "year"), [("ru", "2026 \u0433."), ("uk", "2026 \u0440.")])
def test_an_expired_voucher_page_ends_its_sentence_once(client, card, language, year):
    voucher = issue_voucher(
        business=card.business,
        actor=factories.member_actor(card.business, role="manager"),
        card=card,
        title="Free cake",
        origin=VoucherOrigin.MANUAL,
        redemption_method="self",
    )
    ended = timezone.make_aware(datetime(2026, 1, 5, 12, 0)) - timedelta(days=1)
    Voucher.objects.filter(pk=voucher.pk).update(valid_until=ended)
    page = client.get(
        reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk}),
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    sentence = re.search(r'<p class="c-error" role="status">([^<]+)</p>', page)
    assert sentence is not None
    assert sentence.group(1).endswith(year)
    assert ".." not in sentence.group(1)
