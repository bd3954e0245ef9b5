import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from stampcard.accounts.middleware import SESSION_SEEN, SESSION_STARTED


@receiver(user_logged_in)
def start_session_clock(sender: object, request: HttpRequest, **kwargs: object) -> None:
    """The absolute session limit counts from the password login.

    A second login of the same user in the same session (the two-factor step logs in again)
    keeps the first start, so it cannot stretch the limit.
    """
    now = int(time.time())
    request.session.setdefault(SESSION_STARTED, now)
    request.session[SESSION_SEEN] = now
