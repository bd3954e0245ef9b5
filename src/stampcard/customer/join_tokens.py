"""The one-time token of a join form, bound to the browser it was shown in.

Each join page renders a fresh random token into its form; the browser holds its own random
secret in a cookie scoped to the program's join page. A sending of the form is known by a
keyed hash of the two (``attempt_key``), which ``customer.services.join`` keeps hashed once
more (``JoinAttempt``): the same form sent again from the same browser is the same attempt,
while the token alone, copied elsewhere, is nobody's. Without the cookie (cookies refused) or
the token (a form from before tokens) a sending is simply a new join.
"""

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.crypto import salted_hmac

from stampcard import tokens
from stampcard.loyalty.models import Program

FIELD = "join_token"
_COOKIE = "stampcard_join_{program_id}"
# What tokens.new_secret() writes: URL-safe base64, nothing else is taken from the browser.
_SECRET = re.compile(r"[A-Za-z0-9_-]{20,64}")


def form_token(request: HttpRequest) -> str:
    """The token to render into the form: the one sent back (a refused form shown again is
    the same attempt, since nothing was written), else a fresh one."""
    posted = request.POST.get(FIELD, "") if request.method == "POST" else ""
    return posted if _SECRET.fullmatch(posted) else tokens.new_secret(24)


def attempt_key(request: HttpRequest, program: Program) -> str:
    """The key of this sending of the join form, or "" when it cannot be told apart."""
    token = request.POST.get(FIELD, "")
    browser = request.COOKIES.get(_cookie(program), "")
    if not (_SECRET.fullmatch(token) and _SECRET.fullmatch(browser)):
        return ""
    return salted_hmac("stampcard.customer.join-attempt", f"{browser}:{token}").hexdigest()


def keep_browser_secret(request: HttpRequest, response: HttpResponse, program: Program) -> None:
    """Give the browser its secret for this program's join page (the one it has, for another
    day, so a form shown now is still this browser's when sent)."""
    held = request.COOKIES.get(_cookie(program), "")
    response.set_cookie(
        _cookie(program),
        held if _SECRET.fullmatch(held) else tokens.new_secret(24),
        max_age=24 * 3600,
        path=reverse(
            "customer:join", kwargs={"slug": program.business.slug, "program_id": program.pk}
        ),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def _cookie(program: Program) -> str:
    return _COOKIE.format(program_id=program.pk)
