"""The card a browser holds for a program: a cookie scoped to the program's join page, so the
join page (and the claim page under it) can reopen the customer's card without asking again."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from stampcard.loyalty.models import Card, Program

_CARD_COOKIE = "stampcard_card_{program_id}"


def remember_card(response: HttpResponse, program: Program, card: Card) -> None:
    response.set_cookie(
        _CARD_COOKIE.format(program_id=program.pk),
        card.token,
        max_age=365 * 24 * 3600,
        path=reverse(
            "customer:join", kwargs={"slug": program.business.slug, "program_id": program.pk}
        ),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def remembered_card(request: HttpRequest, program: Program) -> Card | None:
    token = request.COOKIES.get(_CARD_COOKIE.format(program_id=program.pk), "")
    if not token or len(token) > 100:
        return None
    return Card.objects.filter(program=program, token=token).first()
