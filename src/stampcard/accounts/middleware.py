"""Session limits, the two-factor step, and private caching for signed-in pages."""

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from stampcard.accounts import two_factor

SESSION_STARTED = "stampcard_session_started"
SESSION_SEEN = "stampcard_session_seen"
# The last request is written at most this often, so that reading a page does not write the
# session every time; the idle limit is therefore exact to within this many seconds.
SEEN_GRANULARITY = 60

Handler = Callable[[HttpRequest], HttpResponse]


def _admin_prefix() -> str:
    return "/" + settings.ADMIN_PATH


class SessionLimitsMiddleware:
    """Logs out a session SESSION_IDLE_TIMEOUT seconds after its last request, and
    SESSION_COOKIE_AGE seconds after its login whatever happens in between."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault(SESSION_STARTED, now)
            seen = session.get(SESSION_SEEN, started)
            if (
                now - started >= settings.SESSION_COOKIE_AGE
                or now - seen >= settings.SESSION_IDLE_TIMEOUT
            ):
                logout(request)
            elif now - seen >= SEEN_GRANULARITY:
                session[SESSION_SEEN] = now
        return self.get_response(request)


class TwoFactorMiddleware:
    """Every page needs the second factor of those who have one, except the few that lead to it.

    A user with a confirmed device who has only given a password is sent to the verify page;
    with OTP_REQUIRED, an owner or operator without a device is sent to set one up. The guard is
    an allowlist, so a page added later is guarded without anyone remembering to list it.
    """

    # Reachable before the second factor: signing in and out, giving or setting up the code,
    # choosing the language of those pages, and what probes and browsers fetch on their own.
    OPEN_NAMES = ("login", "logout", "otp_verify", "otp_setup", "admin:logout")
    OPEN_PATHS = ("/healthz", "/readyz")
    OPEN_PREFIXES = ("/i18n/",)

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not self._open(request.path_info):
            user = request.user
            if two_factor.needs_verification(user):
                return self._redirect("otp_verify", request)
            if two_factor.setup_required() and two_factor.needs_setup(user):
                return self._redirect("otp_setup", request)
        return self.get_response(request)

    @classmethod
    def _open(cls, path: str) -> bool:
        if path in cls.OPEN_PATHS or path.startswith(cls.OPEN_PREFIXES):
            return True
        if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        return any(path == reverse(name) for name in cls.OPEN_NAMES)

    @staticmethod
    def _redirect(name: str, request: HttpRequest) -> HttpResponse:
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(name)}?{query}")


class PrivatePagesMiddleware:
    """Pages for a signed-in user, and every account or admin page, are never stored by a
    browser or a proxy cache: they show personal data or carry one-time tokens."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        if (
            signed_in
            or request.user.is_authenticated
            or request.path_info.startswith(("/accounts/", _admin_prefix()))
        ):
            add_never_cache_headers(response)
        return response
