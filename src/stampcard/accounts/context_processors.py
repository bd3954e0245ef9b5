from collections.abc import Callable

from django.http import HttpRequest

from stampcard.accounts import two_factor


def two_factor_prompt(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """``otp_prompt``: the page should urge this user to set up two-factor (asked lazily)."""
    return {"otp_prompt": lambda: two_factor.needs_setup(request.user)}
