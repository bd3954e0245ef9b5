"""The door of a program's public pages: the join page and the way back to a card.

The join QR's URL names the business by its slug and the program by its id, both public; a
program that is not active, or not this business's, is not found. Like the doors in
``tenancy.middleware``, it decides the business once, puts it and the caller on the request
and runs the view inside the business's scope and time zone.
"""

import functools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from stampcard.loyalty.models import Program, ProgramStatus
from stampcard.tenancy.actors import Actor

_MAX_ID = 2**63 - 1

View = Callable[..., HttpResponse]


def program_door(view: View) -> View:
    """Admit anyone to ``view(request, program, **kwargs)`` for an active program's URL."""

    @functools.wraps(view)
    def admitted(request: HttpRequest, slug: str, program_id: int, **kwargs: Any) -> HttpResponse:
        if not 0 < program_id <= _MAX_ID:
            raise Http404
        with scopes_disabled():
            program = (
                Program.objects.select_related("business")
                .filter(business__slug=slug, pk=program_id, status=ProgramStatus.ACTIVE)
                .first()
            )
        if program is None:
            raise Http404
        business = program.business
        request.business = business  # type: ignore[attr-defined]
        request.actor = Actor.customer(  # type: ignore[attr-defined]
            business_id=business.pk, ip_address=request.META.get("REMOTE_ADDR") or None
        )
        with scope(business=business), timezone.override(ZoneInfo(business.time_zone)):
            return view(request, program, **kwargs)

    return admitted
