"""What a paired counter device (kiosk, Autopilot station, scanner) calls.

The device door (``tenancy.middleware``) has already recognised the device from its token and
opened its business's scope; these views only answer.
"""

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from stampcard.tenancy.models import Device
from stampcard.tenancy.services import device_seen


@require_GET
@never_cache
def whoami(request: HttpRequest) -> JsonResponse:
    """Who this device is, so a counter screen can show it; also notes that it was seen."""
    device: Device = request.device  # type: ignore[attr-defined]
    device_seen(device)
    location = device.location
    return JsonResponse(
        {
            "name": device.name,
            "kind": device.kind,
            "kind_label": str(device.get_kind_display()),
            "business": {"name": device.business.name, "slug": device.business.slug},
            "location": None if location is None else {"id": location.pk, "name": location.name},
            "time_zone": device.business.time_zone,
            "language": device.business.default_language,
            "now": timezone.localtime().isoformat(),
        }
    )
