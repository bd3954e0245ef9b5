"""Google's save and delete callbacks: verified, then kept as the card's install state.

Google POSTs a message each time someone saves or deletes an object of a class whose
``callbackOptions.url`` is ours (wallet.md C6). It is signed with the ECv2SigningOnly scheme:
one of Google's root keys (a published list, ``GOOGLE_WALLET_ROOT_KEYS_URL``) signs a
short-lived intermediate key, which signs the message for one recipient, our issuer id. All of
it is checked here with ``cryptography``; a message that fails any check changes nothing.

The message names an object, not a business: this callback is the door of Google's caller. The
object id leads to the card (looked up unscoped, like the PassKit door's serial), and the
write runs in that card's business's scope.

Google may deliver callbacks out of order (a retried save after the delete that followed it).
The install state follows the events as they happened, not as they arrived: each message's
signed ``expTimeMillis`` lies a fixed while after its event, so the state keeps the one of the
event applied last, and an event whose message expires earlier than that one's is ignored
(its nonce is still kept, so Google's retries of it are too). One INSERT … ON CONFLICT DO
UPDATE … WHERE decides it, so callbacks of one card arriving at once cannot undo each other.

Each taken callback's nonce is kept for ``GOOGLE_WALLET_NONCE_KEEP_DAYS`` (default 7), so
Google's retries and any replay are ignored; ``purge_nonces`` deletes older ones. Google does
not document how long a callback stays valid (its ``expTimeMillis``): a callback valid for
longer than the nonces are kept is refused (``expires_too_late``), so a purged nonce can
never let an old callback in again.
"""

import base64
import binascii
import json
import logging
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from stampcard.loyalty.models import Card
from stampcard.wallet import google
from stampcard.wallet.models import GoogleCallbackNonce, GoogleInstall, PassRegistration

log = logging.getLogger(__name__)

SENDER_ID = "GooglePayPasses"
PROTOCOL = "ECv2SigningOnly"
EVENTS = {"save": True, "del": False}
# A callback is a few hundred bytes; anything much larger is not Google's.
MAX_BODY_BYTES = 16 * 1024
ROOT_KEYS_CACHE_KEY = "wallet:google:root-keys"
ROOT_KEYS_CACHE_SECONDS = 3600


class CallbackRefused(Exception):
    """The callback is not a valid message from Google for us; ``code`` says which check."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CallbackUnavailable(CallbackRefused):
    """The callback could not be checked now on our side (Google's root keys unreachable):
    not the sender's fault, so answered as a server error that Google's retries come back
    to, rather than as a refusal."""


@dataclass(frozen=True, slots=True)
class CallbackEvent:
    class_id: str
    object_id: str
    saved: bool
    nonce: str
    # The message's signed ``expTimeMillis``: orders the events of one object.
    expires_at: datetime


# Verification ---------------------------------------------------------------------------------


def _length_prefixed(*parts: str) -> bytes:
    """ECv2's signed bytes: each part preceded by its length, 4 bytes little-endian."""
    out = b""
    for part in parts:
        data = part.encode("utf-8")
        out += struct.pack("<I", len(data)) + data
    return out


def _ec_key(b64_der: str) -> ec.EllipticCurvePublicKey:
    key = load_der_public_key(base64.b64decode(b64_der, validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CallbackRefused("bad_key")
    return key


def _verifies(key: ec.EllipticCurvePublicKey, signature_b64: str, data: bytes) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _not_expired(expiration_ms: Any, now: datetime) -> bool:
    try:
        return int(expiration_ms) > now.timestamp() * 1000
    except (TypeError, ValueError):
        return False


def nonce_keep() -> timedelta:
    """How long a callback's nonce is kept; no callback valid for longer is accepted."""
    return timedelta(days=settings.GOOGLE_WALLET_NONCE_KEEP_DAYS)


def _expires_within_nonce_keep(expiration_ms: Any, now: datetime) -> bool:
    return int(expiration_ms) <= (now + nonce_keep()).timestamp() * 1000


def root_keys(now: datetime) -> list[ec.EllipticCurvePublicKey]:
    """Google's current root signing keys for passes, fetched and kept for an hour."""
    # Keyed by the list's address, so a changed setting never reads the old list.
    cache_key = f"{ROOT_KEYS_CACHE_KEY}:{settings.GOOGLE_WALLET_ROOT_KEYS_URL}"
    listed = cache.get(cache_key)
    if listed is None:
        try:
            response = httpx.get(
                settings.GOOGLE_WALLET_ROOT_KEYS_URL,
                timeout=settings.GOOGLE_WALLET_TIMEOUT_SECONDS,
            )
            response.raise_for_status()
            listed = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("Google's root keys could not be fetched: %s", exc)
            raise CallbackUnavailable("root_keys_unavailable") from exc
        cache.set(cache_key, listed, ROOT_KEYS_CACHE_SECONDS)
    keys = []
    for entry in listed:
        if not isinstance(entry, dict) or entry.get("protocolVersion") != PROTOCOL:
            continue
        # A root key of this protocol without an expiry is not used: only ECv1 keys may
        # leave it out (Tink, Google's own verifier, skips such keys the same way).
        if not _not_expired(entry.get("keyExpiration"), now):
            continue
        try:
            keys.append(_ec_key(entry["keyValue"]))
        except (CallbackRefused, KeyError, ValueError, binascii.Error):
            continue
    return keys


def verify(body: bytes, *, now: datetime) -> CallbackEvent:
    """The event a callback body tells of, once every signature and date in it checks out.

    Raises ``CallbackRefused`` otherwise. Does not look at the nonce: that is the caller's
    record to keep.
    """
    try:
        envelope = json.loads(body)
        if envelope["protocolVersion"] != PROTOCOL:
            raise CallbackRefused("protocol")
        signed_key: str = envelope["intermediateSigningKey"]["signedKey"]
        key_signatures: list[str] = envelope["intermediateSigningKey"]["signatures"]
        signature: str = envelope["signature"]
        signed_message: str = envelope["signedMessage"]
        if not all(isinstance(s, str) for s in (signed_key, signature, signed_message)):
            raise CallbackRefused("malformed")
        if not isinstance(key_signatures, list) or not all(
            isinstance(s, str) for s in key_signatures
        ):
            raise CallbackRefused("malformed")
    except (ValueError, KeyError, TypeError) as exc:
        raise CallbackRefused("malformed") from exc

    key_data = _length_prefixed(SENDER_ID, PROTOCOL, signed_key)
    roots = root_keys(now)
    if not any(_verifies(root, s, key_data) for root in roots for s in key_signatures):
        raise CallbackRefused("intermediate_signature")
    try:
        intermediate = json.loads(signed_key)
        intermediate_key = _ec_key(intermediate["keyValue"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise CallbackRefused("bad_key") from exc
    if not _not_expired(intermediate.get("keyExpiration"), now):
        raise CallbackRefused("intermediate_expired")

    message_data = _length_prefixed(
        SENDER_ID, settings.GOOGLE_WALLET_ISSUER_ID, PROTOCOL, signed_message
    )
    if not _verifies(intermediate_key, signature, message_data):
        raise CallbackRefused("signature")

    try:
        message = json.loads(signed_message)
        expires = message["expTimeMillis"]
        event = CallbackEvent(
            class_id=str(message["classId"]),
            object_id=str(message["objectId"]),
            saved=EVENTS[message["eventType"]],
            nonce=str(message["nonce"]),
            expires_at=datetime.fromtimestamp(int(expires) / 1000, UTC),
        )
    except (ValueError, KeyError, TypeError, OverflowError, OSError) as exc:
        raise CallbackRefused("malformed") from exc
    if not _not_expired(expires, now):
        raise CallbackRefused("expired")
    if not _expires_within_nonce_keep(expires, now):
        # Valid for longer than its nonce is kept: after the purge it could be replayed.
        raise CallbackRefused("expires_too_late")
    if not event.nonce or len(event.nonce) > 128:
        raise CallbackRefused("malformed")
    return event


# Recording ------------------------------------------------------------------------------------


# The install state of a card after one event: written unless the event in force is as
# recent or more (by its message's signed expiry). PostgreSQL and SQLite both take it; the
# row of the card, or the unique index it conflicts on, serialises callbacks arriving at once.
_INSTALL_TABLE = GoogleInstall._meta.db_table
_APPLY_EVENT = (
    f"INSERT INTO {_INSTALL_TABLE}"  # noqa: S608  # the model's own table name
    " (business_id, card_id, saved, event_at, message_expires_at) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (card_id) DO UPDATE SET saved = excluded.saved,"
    " event_at = excluded.event_at, message_expires_at = excluded.message_expires_at"
    f" WHERE {_INSTALL_TABLE}.message_expires_at IS NULL"
    f" OR {_INSTALL_TABLE}.message_expires_at < excluded.message_expires_at"
)


def _apply_event(card: Card, event: CallbackEvent, now: datetime) -> bool:
    """Make ``event`` the card's install state unless a newer event is in force; whether it
    was applied."""
    connection = transaction.get_connection()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _APPLY_EVENT,
            [card.business_id, card.pk, event.saved, adapt(now), adapt(event.expires_at)],
        )
        return cursor.rowcount > 0


def take_callback(body: bytes, *, now: datetime | None = None) -> bool:
    """Verify a callback and record what it says; False when its nonce was seen before.

    One transaction: the nonce and the install state are written together, so a callback
    either counts fully or not at all (and Google's retry then counts it). An event older
    than the one in force counts as taken and changes nothing.
    """
    now = now or timezone.now()
    event = verify(body, now=now)
    with scopes_disabled():
        code = google.card_code_of(event.object_id)
        card = (
            Card.objects.select_related("business", "program").filter(code=code).first()
            if code
            else None
        )
    if card is None or event.class_id != google.class_id(card.program):
        raise CallbackRefused("unknown_object")
    with scope(business=card.business), transaction.atomic():
        try:
            with transaction.atomic():
                GoogleCallbackNonce.objects.create(nonce=event.nonce, received_at=now)
        except IntegrityError:
            return False  # Google retried one we took: answered 200, changes nothing
        if not _apply_event(card, event, now):
            log.info(
                "Google Wallet callback for card %s older than the state in force: ignored",
                card.pk,
            )
    return True


def purge_nonces(*, now: datetime | None = None) -> int:
    """Delete the nonces of callbacks taken longer ago than ``nonce_keep()``; how many.

    Safe: ``verify`` refuses any callback whose expiry lies further ahead than that, so a
    callback whose nonce is gone has expired and is refused before its nonce is looked at.
    A periodic job (``wallet.tasks.purge_google_nonces``).
    """
    cutoff = (now or timezone.now()) - nonce_keep()
    removed, _ = GoogleCallbackNonce.objects.filter(received_at__lt=cutoff).delete()
    return removed


@dataclass(frozen=True, slots=True)
class Installs:
    """Where a card's pass is installed, as far as the wallets tell us."""

    apple_devices: int
    # None: Google never called back about this card.
    google: GoogleInstall | None

    @property
    def in_apple_wallet(self) -> bool:
        return self.apple_devices > 0

    @property
    def in_google_wallet(self) -> bool:
        return self.google is not None and self.google.saved


def installs_of(card: Card) -> Installs:
    """Apple: while a device registration exists. Google: what its last callback said."""
    return Installs(
        apple_devices=PassRegistration.objects.filter(card=card).count(),
        google=GoogleInstall.objects.filter(card=card).first(),
    )
