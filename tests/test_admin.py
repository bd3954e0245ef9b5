"""Platform operators can open every admin page, across businesses."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from stampcard.loyalty.models import StampSource
from stampcard.loyalty.services import add_stamps
from stampcard.tenancy.actors import Actor, ActorKind
from tests import factories


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


def test_operators_add_a_milestone_to_a_program_in_the_admin(client, program):
    from stampcard.loyalty.models import Milestone

    operator = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    url = f"/admin/loyalty/program/{program.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and not isinstance(value, list | dict)
    }
    data.update(
        {
            "business": program.business_id,
            "allowed_sources": '["staff", "kiosk", "autopilot", "receipt", "api", "admin"]',
            "milestones-TOTAL_FORMS": "1",
            "milestones-INITIAL_FORMS": "0",
            "milestones-0-stamps": "4",
            "milestones-0-reward_kind": "simple",
            "milestones-0-reward_title": "Free cookie",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    milestone = Milestone.objects.get(program=program)
    assert (milestone.stamps, milestone.business_id) == (4, program.business_id)


def test_invitations_are_shown_read_only_and_never_their_token(
    client, operator, business, owner, shop
):
    from stampcard.tenancy import team
    from stampcard.tenancy.models import Invitation, Membership

    issued = team.invite_member(
        business=business,
        actor=Actor.for_member(Membership.objects.get(business=business, user=owner)),
        email="nok@example.org",
        role="staff",
        location_ids=[shop.pk],
    )
    invitation = Invitation.objects.get(pk=issued.invitation.pk)
    client.force_login(operator)
    listing = client.get(reverse("admin:tenancy_invitation_changelist"), {"q": "nok"})
    assert listing.status_code == 200
    page = client.get(reverse("admin:tenancy_invitation_change", args=[invitation.pk]))
    assert page.status_code == 200
    for shown in (listing, page):
        body = shown.content.decode()
        assert "nok@example.org" in body
        assert issued.token not in body
        assert invitation.token_hash not in body
    assert "Riverside" in page.content.decode()
    # Looked at only: nothing is added, changed or deleted here.
    assert client.get(reverse("admin:tenancy_invitation_add")).status_code == 403
    posted = client.post(
        reverse("admin:tenancy_invitation_change", args=[invitation.pk]),
        {"email": "other@example.org", "role": "owner"},
    )
    assert posted.status_code == 403
    deleted = client.post(
        reverse("admin:tenancy_invitation_delete", args=[invitation.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403
    invitation.refresh_from_db()
    assert (invitation.email, invitation.role, invitation.cancelled_at) == (
        "nok@example.org",
        "staff",
        None,
    )
