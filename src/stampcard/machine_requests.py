"""Requests from machines skip the middleware made for people.

A counter device posting scans, Apple Wallet asking the PassKit web service for updates and
a health probe send no session, no login and no form, and get no page back: sessions,
authentication, two-factor checks, the CSRF middleware, messages, CSP and the login lockout
only cost them time, and the scan endpoint is the product's hot path (``bench/RESULTS.md``).
``MachineRequestsMiddleware`` comes first in ``MIDDLEWARE`` and sends these URLs through a
short chain of their own: the security headers, the caller's language (only where the answer
has sentences), and the door that decides their business (``tenancy.middleware``), then the
view. A view here that a browser also calls with a cookie checks CSRF itself
(``counter.views``).

``MachineRequestsHandler`` is the WSGI handler the server runs (``stampcard.wsgi``): Django's
own, except that a request for the device scan's URL (``counter:scan``, every Autopilot,
kiosk and scanner stamp) is handed straight to that short chain, with the URL resolved once
when the server starts, instead of walking ``MIDDLEWARE`` and the URL resolver first. Every
other request takes Django's whole way. Both ways build the request, send Django's request
signals (the database connections' upkeep), log errors and write the answer with the same
code, and the short chain is the one built here: the same door, view and answers, also for a
wrong method, a refusal or an error.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string

# By URL name, so that moving a URL cannot silently move it back to the long chain. The
# counter's answers are sentences in the caller's language; Apple Wallet and the probes get none.
SPOKEN_URLS = frozenset({"counter:scan", "counter:cards"})
SILENT_URLS = frozenset({"healthz", "readyz"})
SILENT_NAMESPACES = frozenset({"passkit"})
SILENT_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "stampcard.tenancy.middleware.BusinessScopeMiddleware",
)
SPOKEN_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "stampcard.machine_requests.SpokenLanguageMiddleware",
    "stampcard.tenancy.middleware.BusinessScopeMiddleware",
)
# Languages decided (``SpokenLanguageMiddleware``), by language cookie and Accept-Language.
_LANGUAGES_KEPT = 500

Handler = Callable[[HttpRequest], HttpResponse]


class SpokenLanguageMiddleware:
    """``LocaleMiddleware`` for URLs outside ``i18n_patterns``, as it treats them: the language
    from the language cookie or ``Accept-Language`` (``get_language_from_request``) is
    activated, and the answer varies on Accept-Language and says its language.

    The language each pair of cookie and header gets is kept: Django works it out anew on
    every request (and tries the URL's first segment as a language code, twice), which on
    the scan's path costs more than the rest of this chain. With ``i18n_patterns`` in the
    URLconf it is ``LocaleMiddleware`` itself.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.whole: Any = None  # LocaleMiddleware, typed as sync or async
        if is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]:
            self.whole = LocaleMiddleware(get_response)
        self.cookie = settings.LANGUAGE_COOKIE_NAME
        self.decided: dict[tuple[str | None, str], str] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.whole is not None:
            return self.whole(request)
        meta = request.META
        key = (
            request.COOKIES.get(self.cookie) if "HTTP_COOKIE" in meta else None,
            meta.get("HTTP_ACCEPT_LANGUAGE", ""),
        )
        language = self.decided.get(key)
        if language is None:
            language = translation.get_language_from_request(request, check_path=False)
            if len(self.decided) >= _LANGUAGES_KEPT:
                self.decided.clear()
            self.decided[key] = language
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class MachineRequestsMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.spoken = _chain(SPOKEN_MIDDLEWARE)
        self.silent = _chain(SILENT_MIDDLEWARE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        # The door (tenancy.middleware) reuses it.
        request.resolver_match = match
        if match.view_name in SPOKEN_URLS:
            return self.spoken(request)
        if match.view_name in SILENT_URLS or SILENT_NAMESPACES.intersection(match.namespaces):
            return self.silent(request)
        return self.get_response(request)


class MachineRequestsHandler(WSGIHandler):
    """Django's WSGI handler; the device scan skips the resolver and ``MIDDLEWARE``."""

    def __init__(self) -> None:
        super().__init__()
        self.scan_path = reverse("counter:scan")
        self.scan_match = resolve(self.scan_path)
        self.scan_chain = _chain(SPOKEN_MIDDLEWARE)
        # Django's get_response runs this, with its own logging and clean-up around it.
        self.whole_chain: Handler = self._middleware_chain  # type: ignore[has-type]
        self._middleware_chain = self._choose_chain

    def _choose_chain(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == self.scan_path:
            request.resolver_match = self.scan_match
            return self.scan_chain(request)
        return self.whole_chain(request)


def _chain(middleware: tuple[str, ...]) -> Handler:
    """Built as Django builds its own: each layer turns exceptions into responses."""
    chain: Any = convert_exception_to_response(_call_view)
    for path in reversed(middleware):
        chain = convert_exception_to_response(import_string(path)(chain))
    handler: Handler = chain
    return handler


def _call_view(request: HttpRequest) -> HttpResponse:
    match = request.resolver_match
    assert match is not None
    response: HttpResponse = match.func(request, *match.args, **match.kwargs)
    return response
