"""Platform operators can open every admin page, across businesses."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor, ActorKind


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_superuser("operator", password="pw-operator-1")


def test_every_model_page_opens(client, operator, card):
    add_stamps(
        business=card.business,
        actor=Actor(kind=ActorKind.ADMIN),
        source=StampSource.ADMIN,
        card_id=card.pk,
    )
    client.force_login(operator)
    for model in admin.site._registry:
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        first = model._default_manager.first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change
