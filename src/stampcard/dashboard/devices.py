"""The business's paired devices: list them, pair a new one with a one-time code (or cancel
it before it is used), rename or move one to another location, revoke.

The code is made here and typed on the device at ``/device/pair/``; it is shown once.
"""

from django import forms
from django.db import transaction
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
    cancel_pairing_code,
    create_pairing_code,
    move_device,
    rename_device,
    revoke_device,
)


class DeviceForm(forms.Form):
    """A device's name and location, as the actor may choose them."""

    name = forms.CharField(label=_("Device name"), max_length=120)
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


class PairingForm(DeviceForm):
    kind = forms.ChoiceField(label=_("Used as"), choices=DeviceKind.choices)

    field_order = ["name", "kind", "location"]


@requires(Permission.MANAGE_DEVICES)
def devices(request: HttpRequest, business_slug: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    business = request.business  # type: ignore[attr-defined]
    form = PairingForm(actor=actor)
    issued: IssuedPairingCode | None = None
    error = ""
    status = 200
    invalid: dict[int, DeviceForm] = {}  # a device's change that was refused, shown again
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                device = get_object_or_404(
                    at_actors_locations(Device.objects.all(), actor),
                    pk=_int(request.POST["revoke"]),
                )
                revoke_device(business=business, actor=actor, device=device)
            elif "change" in request.POST:
                device = get_object_or_404(
                    at_actors_locations(Device.objects.all(), actor),
                    pk=_int(request.POST["change"]),
                )
                edited = DeviceForm(request.POST, actor=actor, prefix=_prefix(device))
                if edited.is_valid():
                    with transaction.atomic():  # both or neither
                        rename_device(
                            business=business,
                            actor=actor,
                            device=device,
                            name=edited.cleaned_data["name"],
                        )
                        move_device(
                            business=business,
                            actor=actor,
                            device=device,
                            location=edited.cleaned_data["location"],
                        )
                else:
                    invalid[device.pk] = edited
                    status = 400
            elif "cancel" in request.POST:
                pairing = get_object_or_404(
                    at_actors_locations(PairingCode.objects.all(), actor),
                    pk=_int(request.POST["cancel"]),
                )
                cancel_pairing_code(business=business, actor=actor, pairing=pairing)
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
    listed = list(
        at_actors_locations(Device.objects.select_related("location"), actor).order_by(
            "revoked_at", "name"
        )
    )
    for device in listed:
        device.form = invalid.get(device.pk) or DeviceForm(  # type: ignore[attr-defined]
            actor=actor,
            prefix=_prefix(device),
            initial={"name": device.name, "location": device.location_id},
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


def _prefix(device: Device) -> str:
    return f"device-{device.pk}"


def _int(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 19 else 0
