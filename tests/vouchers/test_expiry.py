"""Vouchers whose validity ended: expired once, told once, shown expired everywhere."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from stampcard.outbox.models import MessageStatus, OutboxMessage, Topic
from stampcard.tenancy.actors import Actor
from stampcard.vouchers.models import Voucher, VoucherOrigin, VoucherStatus
from stampcard.vouchers.services import ValidityRule, issue_voucher
from stampcard.vouchers.services.expiring import expire_vouchers
from tests import factories
from tests.concurrency import needs_postgres, run_in_parallel

SYSTEM = Actor.system()
ONE_DAY = ValidityRule(kind="days", amount=1)


def give(card, *, days_ago=3, validity=None, method="self", title="Cake"):
    """A voucher of ``card`` issued ``days_ago`` days ago, valid for a day (or ``validity``)."""
    return issue_voucher(
        business=card.business,
        actor=SYSTEM,
        card=card,
        title=title,
        origin=VoucherOrigin.MANUAL,
        redemption_method=method,
        validity=validity or ONE_DAY,
        now=timezone.now() - timedelta(days=days_ago),
    )


def expired_messages():
    return OutboxMessage.objects.filter(topic=Topic.VOUCHER_EXPIRED)


@pytest.mark.django_db
def test_a_voucher_past_its_end_turns_expired_and_is_told_exactly_once(card):
    ended = give(card)
    still_valid = give(card, days_ago=0)
    unlimited = give(card, validity=ValidityRule())
    redeemed, voided = give(card), give(card)
    Voucher.objects.filter(pk=redeemed.pk).update(status=VoucherStatus.REDEEMED)
    Voucher.objects.filter(pk=voided.pk).update(status=VoucherStatus.VOID)

    assert expire_vouchers() == 1
    assert expire_vouchers() == 0  # the next run finds nothing more
    statuses = dict(Voucher.objects.values_list("pk", "status"))
    assert statuses[ended.pk] == VoucherStatus.EXPIRED
    assert statuses[still_valid.pk] == statuses[unlimited.pk] == VoucherStatus.ACTIVE
    assert statuses[redeemed.pk] == VoucherStatus.REDEEMED
    assert statuses[voided.pk] == VoucherStatus.VOID
    (message,) = expired_messages()
    assert message.business_id == card.business_id
    assert message.payload == {"voucher_id": ended.pk, "card_id": card.pk}


@pytest.mark.django_db
def test_a_voucher_of_no_card_expires_too(business):
    free = issue_voucher(
        business=business,
        actor=SYSTEM,
        title="Printed coupon",
        origin=VoucherOrigin.MANUAL,
        redemption_method="staff_scan",
        validity=ONE_DAY,
        now=timezone.now() - timedelta(days=2),
    )
    assert expire_vouchers() == 1
    assert expired_messages().get().payload == {"voucher_id": free.pk, "card_id": None}


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_expire_and_tell_each_voucher_once():
    card = factories.CardFactory()
    vouchers = [give(card, title=f"Voucher {n}") for n in range(120)]
    counts = run_in_parallel(lambda _: expire_vouchers(batch=7), 6, workers=6)
    assert not [c for c in counts if isinstance(c, BaseException)]
    assert sum(c for c in counts if isinstance(c, int)) == len(vouchers)
    told = [m.payload["voucher_id"] for m in expired_messages()]
    assert sorted(told) == sorted(v.pk for v in vouchers)
    assert set(Voucher.objects.values_list("status", flat=True)) == {VoucherStatus.EXPIRED}


def test_it_is_a_periodic_job():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert {"task": "stampcard.vouchers.tasks.expire_vouchers"}.items() <= schedule[
        "vouchers-expire"
    ].items()
    assert (
        "stampcard.wallet.consumers.push_voucher_changed"
        in (django_settings.OUTBOX_CONSUMERS["voucher.expired"])
    )
    assert (
        "stampcard.wallet.google_consumers.sync_google_object"
        in (django_settings.OUTBOX_CONSUMERS["voucher.expired"])
    )


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_dispatcher_expires_and_delivers():
    card = factories.CardFactory()
    voucher = give(card)
    call_command("deliver_outbox", "--once", "--threads", "1")
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.EXPIRED
    assert expired_messages().get().status == MessageStatus.DELIVERED


@pytest.mark.django_db
def test_the_voucher_page_says_it_expired_and_offers_no_redemption(client, card):
    voucher = give(card)
    page = reverse("customer:voucher", kwargs={"card_token": card.token, "voucher_id": voucher.pk})
    for when in ("before the job", "after the job"):
        content = client.get(page).content.decode()
        assert "This voucher expired on" in content, when
        assert "Hold to redeem" not in content, when
        expire_vouchers()
    card_page = client.get(reverse("customer:card", kwargs={"card_token": card.token}))
    assert page not in card_page.content.decode()  # the card offers it no more
    refused = client.post(page, {"held": "1"})
    assert refused.status_code == 409
    assert refused.content.decode().count("This voucher expired on") == 1
