"""The one place a request's tenant is decided.

A URL under ``/b/<business_slug>/`` belongs to that business. The middleware checks that the
user is a member, puts ``request.business`` and ``request.membership`` on the request, and runs
the view inside a django-scopes scope for that business: every query on a tenant-owned model
is then limited to it, and an object of another business is simply not found (404). Other
URLs run with no scope open, so a tenant query there raises instead of leaking.
Platform operators' admin runs unscoped, by design.
"""

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from stampcard.tenancy.selectors import membership_in


class BusinessScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.app_name == "admin":
            with scopes_disabled():
                return self.get_response(request)
        slug = match.kwargs.get("business_slug")
        if slug is None:
            return self.get_response(request)
        membership = membership_in(request.user, slug)
        if membership is None:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            raise Http404
        request.business = membership.business  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        # Times on the business's pages are shown in its own time zone.
        with (
            scope(business=membership.business),
            timezone.override(ZoneInfo(membership.business.time_zone)),
        ):
            return self.get_response(request)
