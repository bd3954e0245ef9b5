"""A page for a method a page does not take (405), in the visitor's language.

Django answers a wrong method (``require_http_methods``) with an empty body and has no
handler to give it a page, as it has for 404, 400, 403 and 500 (``templates/404.html``...).
A browser shown an empty 405 shows a blank screen; this middleware puts the short 405 page in
its place, keeping the ``Allow`` header. Only for a caller that asks for HTML by name: an
answer with a body of its own (a JSON endpoint's) and a script (JSON, or */*) keep theirs.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or getattr(response, "streaming", False)
            or response.content
            or not _asks_for_html(request)
        ):
            return response
        page = render(request, "405.html", status=405)
        if "Allow" in response:
            page["Allow"] = response["Allow"]
        return page


def _asks_for_html(request: HttpRequest) -> bool:
    """A browser opening a page names text/html; a script's */* or JSON does not."""
    named = any(
        kind.main_type == "text" and kind.sub_type == "html" for kind in request.accepted_types
    )
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return named and preferred == "text/html"
