"""The permission check on a view, read from ``tenancy.permissions``' table."""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from stampcard.tenancy.errors import NotAllowed
from stampcard.tenancy.permissions import Permission, allows

# Any response: a page, or a file streamed (FileResponse).
View = Callable[..., HttpResponseBase]


def requires(permission: Permission) -> Callable[[View], View]:
    """Refuse (403) unless the actor the door admitted may do ``permission`` in its business.

    A request that came through no door has no actor and is refused too. The permission is
    kept on the view as ``required_permission``, so tests can check that no view lacks one.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            actor = getattr(request, "actor", None)
            business = getattr(request, "business", None)
            if actor is None or business is None:
                raise NotAllowed()
            if not allows(actor, permission, business=business):
                raise NotAllowed()
            return view(request, *args, **kwargs)

        checked.required_permission = permission  # type: ignore[attr-defined]
        return checked

    return decorator
