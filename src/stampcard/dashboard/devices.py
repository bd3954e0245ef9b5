"""The business's paired devices: list them, pair a new one with a one-time code, revoke.

The code is made here and typed on the device at ``/device/pair/``; it is shown once.
"""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stampcard.refusals import Refusal
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Device, DeviceKind, Location, PairingCode
from stampcard.tenancy.permissions import Permission
from stampcard.tenancy.selectors import at_actors_locations
from stampcard.tenancy.services import (
    PAIRING_CODE_LIFETIME,
    IssuedPairingCode,
    create_pairing_code,
    revoke_device,
)


class PairingForm(forms.Form):
    name = forms.CharField(label=_("Device name"), max_length=120)
    kind = forms.ChoiceField(label=_("Used as"), choices=DeviceKind.choices)
    location: "forms.ModelChoiceField[Location]" = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("Every location"),
    )

    def __init__(self, *args: object, actor: Actor, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        locations = Location.objects.order_by("name")
        if actor.location_ids:
            locations = locations.filter(pk__in=actor.location_ids)
            self.fields["location"].required = True
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]


@requires(Permission.MANAGE_DEVICES)
def devices(request: HttpRequest, business_slug: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    business = request.business  # type: ignore[attr-defined]
    form = PairingForm(actor=actor)
    issued: IssuedPairingCode | None = None
    error = ""
    status = 200
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                device = get_object_or_404(
                    at_actors_locations(Device.objects.all(), actor),
                    pk=_int(request.POST["revoke"]),
                )
                revoke_device(business=business, actor=actor, device=device)
            else:
                form = PairingForm(request.POST, actor=actor)
                if form.is_valid():
                    issued = create_pairing_code(
                        business=business, actor=actor, **form.cleaned_data
                    )
                    form = PairingForm(actor=actor)
                else:
                    status = 400
        except Refusal as refusal:
            error, status = refusal.message, refusal.http_status
    listed = at_actors_locations(Device.objects.select_related("location"), actor).order_by(
        "revoked_at", "name"
    )
    waiting = at_actors_locations(
        PairingCode.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now()), actor
    ).order_by("-created_at")
    return render(
        request,
        "dashboard/devices.html",
        {
            "devices": listed,
            "waiting": waiting,
            "form": form,
            "issued": issued,
            "error": error,
            "lifetime_minutes": int(PAIRING_CODE_LIFETIME.total_seconds() // 60),
            "pair_url": request.build_absolute_uri(reverse("pairing:pair")),
        },
        status=status,
    )


def _int(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 19 else 0
