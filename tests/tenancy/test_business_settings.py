"""Correcting a business's settings after onboarding: who may, validation as onboarding's,
the audit trail, and the passes' refresh through the outbox when what they show changed."""

import pytest
from django.core.exceptions import ValidationError

from stampcard.audit.models import AuditEntry
from stampcard.outbox.models import OutboxMessage
from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.models import Business
from stampcard.tenancy.services import change_business_settings
from stampcard.wallet import changes
from tests import factories


def refreshes():
    return OutboxMessage.objects.filter(topic=changes.PASSES_CHANGED).count()


def test_the_owner_corrects_every_setting(business, staff_actor):
    change_business_settings(
        business=business,
        actor=staff_actor,
        name=" Corner Café ",
        country="TH",
        time_zone="Asia/Almaty",
        currency="THB",
        default_language="th",
        languages=["th", "en"],
        brand_color="#aa3300",
    )
    saved = Business.objects.get()
    assert (
        saved.name,
        saved.country,
        saved.time_zone,
        saved.currency,
        saved.default_language,
        saved.languages,
        saved.brand_color,
        saved.slug,
    ) == ("Corner Café", "TH", "Asia/Almaty", "THB", "th", ["th", "en"], "#aa3300", "corner-cafe")
    assert saved.other_languages == [("en", "English")]
    entry = AuditEntry.objects.get(action="business.changed")
    assert entry.details["fields"] == [
        "brand_color",
        "country",
        "currency",
        "default_language",
        "languages",
        "name",
        "time_zone",
    ]


@pytest.mark.parametrize(
    ("fields", "refreshed"),
    [
        ({"name": "Corner Cafe & Bakery"}, 1),
        ({"brand_color": "#123456"}, 1),
        ({"time_zone": "Asia/Almaty", "currency": "THB"}, 0),  # not on a pass
        ({"name": "Corner Cafe"}, 0),  # unchanged
    ],
)
def test_a_change_passes_show_publishes_their_refresh(business, staff_actor, fields, refreshed):
    change_business_settings(business=business, actor=staff_actor, **fields)
    assert refreshes() == refreshed
    assert AuditEntry.objects.filter(action="business.changed").count() == (
        0 if fields == {"name": "Corner Cafe"} else 1
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"time_zone": "Mars/Olympus"},
        {"brand_color": "red"},
        {"default_language": "xx"},
        {"languages": ["en", "xx"]},
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(business, staff_actor, fields):
    with pytest.raises(ValidationError):
        change_business_settings(business=business, actor=staff_actor, **fields)
    saved = Business.objects.get()
    assert (saved.name, saved.time_zone, saved.brand_color) == (
        "Corner Cafe",
        "Asia/Bangkok",
        "#1f2937",
    )
    assert refreshes() == 0
    assert not AuditEntry.objects.filter(action="business.changed").exists()


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_only_owners_change_settings(business, role):
    actor = factories.member_actor(business, role=role)
    with pytest.raises(NotAllowed):
        change_business_settings(business=business, actor=actor, name="Mine")
    assert Business.objects.get().name == "Corner Cafe"


def test_an_owner_limited_to_a_shop_may_not(business, shop):
    actor = factories.member_actor(business, role="owner", locations=[shop])
    with pytest.raises(NotAllowed):
        change_business_settings(business=business, actor=actor, name="Mine")


def test_an_owner_of_another_business_may_not(business, other_staff_actor):
    with pytest.raises(NotAllowed):
        change_business_settings(business=business, actor=other_staff_actor, name="Mine")


def test_the_designer_offers_only_the_business_languages(business, staff_actor):
    assert [code for code, _ in business.other_languages] == ["th", "kk", "uk", "ru"]
    change_business_settings(business=business, actor=staff_actor, languages=["en", "th"])
    assert [code for code, _ in Business.objects.get().other_languages] == ["th"]
