"""What the PassKit web service (wallet.md B1) knows about a pass: its token, tags and dates.

- **Serial numbers**: a card's pass has the card code (Crockford symbols, upper case); a
  voucher's coupon pass has ``v`` and the voucher's id, which no card code can be.
- **authenticationToken** is derived, not stored: an HMAC of the card's (voucher's) id and
  its secret token, keyed by ``SECRET_KEY``. It needs no column and changes with
  ``SECRET_KEY``; tokens made with a key in ``SECRET_KEY_FALLBACKS`` are still accepted
  while a new key rolls out, and the next pass a device downloads carries the new one.
- **The update tag** is the card's ``updated_at`` in epoch microseconds, compared strictly
  greater. ``updated_at`` moves with every counter change (loyalty.services bump it with
  ``version``, which is per card and so cannot order cards against each other). The pitfall:
  a change is dated before it commits, so a tag handed out at that moment could pass over it.
  Tags therefore never reach into the last ``SETTLE`` seconds; a pass changed that recently is
  listed again on the next call, which costs the device one download (or a 304), never an
  update.
  A voucher's pass is dated by its registrations' ``pass_changed_at``, which
  ``wallet.changes`` moves when the voucher is redeemed or voided.
- **Last-Modified** has one-second resolution: a copy is dated after ``updated_at`` only once
  the card has been still for ``SETTLE`` seconds, so a change within the same second can never
  hide behind a 304 (it is answered 200 instead).
"""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django_scopes import scopes_disabled

from stampcard.loyalty.models import Card
from stampcard.vouchers.models import Voucher

_SALT = "stampcard.wallet.passkit.authentication_token"
SETTLE = timedelta(seconds=2)
_MAX_TOKEN = 200
_VOUCHER_SERIAL = re.compile(r"v([1-9][0-9]{0,14})")

# What a pass is a view of.
PassOwner = Card | Voucher


def authentication_token(owner: PassOwner, secret: str | None = None) -> str:
    """The pass's ``authenticationToken``: 64 hex characters (Apple asks for 16 or more)."""
    value = f"{owner.pk}:{owner.token}"
    if isinstance(owner, Voucher):
        value = f"voucher:{value}"
    return salted_hmac(_SALT, value, secret=secret, algorithm="sha256").hexdigest()


def token_matches(owner: PassOwner, presented: str) -> bool:
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    # Every key is tried, so the time taken does not say which one matched.
    found = False
    for key in keys:
        found |= constant_time_compare(authentication_token(owner, key), presented)
    return found


def voucher_serial(voucher: Voucher) -> str:
    return f"v{voucher.pk}"


def presented_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: ApplePass <token>``, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "applepass" or not token or len(token) > _MAX_TOKEN:
        return None
    return token


def authenticated_pass(serial_number: str, authorization: str | None) -> PassOwner | None:
    """The card or voucher whose pass ``serial_number`` names, if the request carries its
    token.

    The serial names a pass across businesses, so it is looked up unscoped; the caller opens
    the scope of its business. An unknown serial is refused like a wrong token, so the
    endpoints do not tell which card codes or vouchers exist.
    """
    token = presented_token(authorization)
    if token is None:
        return None
    owner: PassOwner | None
    with scopes_disabled():
        voucher_id = _VOUCHER_SERIAL.fullmatch(serial_number)
        if voucher_id is not None:
            owner = (
                Voucher.objects.select_related("business", "program", "card__customer")
                .filter(pk=int(voucher_id.group(1)))
                .first()
            )
        else:
            owner = (
                Card.objects.select_related("business", "program", "customer")
                .filter(code=serial_number)
                .first()
            )
    if owner is None:
        # Same work as for a known pass, so the time taken does not tell either.
        token_matches(Card(pk=0, token=""), token)
        return None
    return owner if token_matches(owner, token) else None


def authenticated_card(serial_number: str, authorization: str | None) -> Card | None:
    """``authenticated_pass`` for a card's pass only."""
    owner = authenticated_pass(serial_number, authorization)
    return owner if isinstance(owner, Card) else None


def tag_of(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def parse_tag(tag: str | None) -> int | None:
    """A tag we handed out; anything else counts as none, so the device gets every pass."""
    if not tag or len(tag) > 20 or not tag.isdigit():
        return None
    return int(tag)


def next_tag(updated: list[datetime], previous: int | None) -> int:
    """The ``lastUpdated`` to hand out: never behind ``previous``, never inside ``SETTLE``."""
    settled = tag_of(timezone.now() - SETTLE)
    tag = min(max(tag_of(moment) for moment in updated), settled)
    return max(tag, previous or 0)


def last_modified(card: Card) -> int:
    """The ``Last-Modified`` of the card's pass, in whole epoch seconds."""
    second = int(card.updated_at.timestamp())
    if second + 1 <= (timezone.now() - SETTLE).timestamp():
        return second + 1
    return second


def unchanged_since(card: Card, if_modified_since: int | None) -> bool:
    """Whether a copy dated ``if_modified_since`` is current: dated strictly after the change."""
    return if_modified_since is not None and if_modified_since > card.updated_at.timestamp()
