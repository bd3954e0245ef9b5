"""Google Wallet passes: a loyalty class per program and an object per card (wallet.md C);
an offer class per program (and one per business for vouchers issued by hand without a
program) and an offer object per Smart Voucher.

The client speaks Google's REST API as the configured service account: google-auth signs the
JWT bearer grant and refreshes the access token, one pooled httpx client carries every call.
Without ``GOOGLE_WALLET_ISSUER_ID`` and ``GOOGLE_WALLET_SERVICE_ACCOUNT_FILE`` the feature is
off: nothing is sent and ``save_link`` returns None.

Objects are written ahead (the outbox consumer, ``wallet.google_consumers``), so the save link
is a skinny JWT naming only the object and class ids: short, and always the current state.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from google.auth import jwt as google_jwt
from google.auth import transport
from google.oauth2 import service_account

from stampcard.loyalty.models import (
    Card,
    CardBarcode,
    Milestone,
    Program,
    ProgramStatus,
    RewardStatus,
)
from stampcard.loyalty.progress import progress_of, reward_at
from stampcard.tenancy.models import Business
from stampcard.vouchers.models import CodeDisplay, RedemptionMethod, Voucher, VoucherStatus

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
SAVE_URL = "https://pay.google.com/gp/v/save/"


def enabled() -> bool:
    return bool(settings.GOOGLE_WALLET_ISSUER_ID and settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE)


class GoogleWalletError(Exception):
    """Google refused a call; retrying the same call will not change that."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{status} {reason} {detail}".strip())
        self.status = status
        self.reason = reason


class GoogleWalletUnavailable(GoogleWalletError):
    """Google is down, slow or asks us to slow down (5xx, 429, no connection): try later."""


class QuotaExceeded(GoogleWalletError):
    """The pass has had its notifying messages for now (403 ``quotaExceeded``)."""


# Identities ----------------------------------------------------------------------------------


def class_id(program: Program) -> str:
    return f"{settings.GOOGLE_WALLET_ISSUER_ID}.program-{program.pk}"


def object_id(card: Card) -> str:
    # The card code, as the Apple pass's serial: short, unique, already printed in the barcode.
    return f"{settings.GOOGLE_WALLET_ISSUER_ID}.card-{card.code}"


def offer_class_id(voucher: Voucher) -> str:
    """The offer class of the voucher's program, or of its business without one."""
    return _offer_class_id(voucher.business_id, voucher.program_id)


def _offer_class_id(business_id: int, program_id: int | None) -> str:
    issuer = settings.GOOGLE_WALLET_ISSUER_ID
    if program_id is not None:
        return f"{issuer}.offer-program-{program_id}"
    return f"{issuer}.offer-business-{business_id}"


def offer_object_id(voucher: Voucher) -> str:
    return f"{settings.GOOGLE_WALLET_ISSUER_ID}.voucher-{voucher.pk}"


def card_code_of(object_id_: str) -> str | None:
    """The card code an object id of ours names, or None for one that is not ours."""
    prefix = f"{settings.GOOGLE_WALLET_ISSUER_ID}.card-"
    return object_id_.removeprefix(prefix) if object_id_.startswith(prefix) else None


def _public(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def hero_url(program: Program, stamps: int) -> str:
    # A new address per design and stamp count: Google caches images by address.
    stamps = max(0, min(stamps, program.stamps_goal))
    name = f"{program.pk}-{program.design_version}-{stamps}"
    return _public(reverse("wallet:google_hero", kwargs={"name": name}))


def logo_url(program: Program) -> str:
    name = f"{program.pk}-{program.design_version}"
    return _public(reverse("wallet:google_logo", kwargs={"name": name}))


def voucher_hero_url(voucher: Voucher) -> str | None:
    """The public address of the voucher's picture as the offer's hero image, or None
    without one. Named by the voucher and a digest of the picture's stored name (random,
    new for every picture): never guessable from the voucher's id, never its token."""
    name = voucher.picture_name
    if not name:
        return None
    hero = f"{voucher.pk}-{picture_digest(name)}"
    return _public(reverse("wallet:google_voucher_hero", kwargs={"name": hero}))


def picture_digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def callback_url() -> str:
    return _public(reverse("wallet:google_callback"))


# What Google shows --------------------------------------------------------------------------


def loyalty_class(program: Program) -> dict[str, Any]:
    """The loyalty class of ``program`` (wallet.md C1); its callbacks come to us.

    Its texts (the name, the rewards on the way and at the goal, the terms) are in every
    language the program has them in: Google shows the one of the phone's language, else the
    business's default language. The milestones are the class's, not each object's: they are
    the same on every card of the program, and a change to them moves ``design_version``, so
    the outbox patches the class once (``google_consumers``) instead of every object. At most
    ``MAX_MILESTONES`` + 2 modules, within the 10 of a class that Google shows.
    """
    name = _program_text(program, "name")
    body: dict[str, Any] = {
        "id": class_id(program),
        "issuerName": program.business.name,
        "programName": name["defaultValue"]["value"],
        "localizedProgramName": name,
        "programLogo": {"sourceUri": {"uri": logo_url(program)}},
        "hexBackgroundColor": program.background_color,
        "reviewStatus": "UNDER_REVIEW",
        "callbackOptions": {"url": callback_url()},
    }
    default_language = program.business.default_language

    def reward_in(language: str) -> str:
        title = program.text_in("reward_title", language)
        details = program.text_in("reward_description", language)
        return f"{title}\n{details}" if details else title

    # The rewards on the way first, in the order a card meets them; then the goal's.
    modules = [_milestone_module(milestone, default_language) for milestone in _milestones(program)]
    modules.append(_text_module("reward", gettext_noop("Reward"), reward_in, default_language))
    terms = _program_text(program, "terms")
    if _has_text(terms):
        modules.append(
            _text_module(
                "terms",
                gettext_noop("Terms"),
                lambda language: program.text_in("terms", language),
                default_language,
            )
        )
    body["textModulesData"] = modules
    return body


def _milestones(program: Program) -> list[Milestone]:
    # Sorted here: a prefetched list keeps whatever order its query had.
    return sorted(program.milestones.all(), key=lambda milestone: milestone.stamps)


def _milestone_module(milestone: Milestone, default_language: str) -> dict[str, Any]:
    """A class text module for a reward on the way to the goal: "Reward at 5 stamps" over
    the milestone's title and description, each in every language it has them in."""

    def header_in(language: str) -> str:
        with translation.override(language):
            return reward_at(milestone.stamps)

    def body_in(language: str) -> str:
        title = milestone.text_in("reward_title", language)
        details = milestone.text_in("reward_description", language)
        return f"{title}\n{details}" if details else title

    return _module(f"milestone-{milestone.stamps}", header_in, body_in, default_language)


def _program_text(program: Program, field: str) -> dict[str, Any]:
    """One of the program's texts (``Program.TRANSLATED_FIELDS``) as a LocalizedString."""
    return _localized(
        lambda language: program.text_in(field, language), program.business.default_language
    )


def _localized(text_in: Callable[[str], str], default_language: str) -> dict[str, Any]:
    """Google's LocalizedString of a text: ``defaultValue`` in the business's default
    language, ``translatedValues`` for each other language whose text differs from it.

    No value is empty (Google wants text in each): a text written only in another language
    (terms in Thai alone, say) stands in as the default, in its own language."""
    texts = {language: text_in(language) for language, _name in settings.LANGUAGES}
    default_language, default = next(
        (
            (language, text)
            for language, text in [(default_language, text_in(default_language)), *texts.items()]
            if text.strip()
        ),
        (default_language, ""),
    )
    translated = [
        {"language": language, "value": value}
        for language, value in texts.items()
        if language != default_language and value.strip() and value != default
    ]
    localized: dict[str, Any] = {"defaultValue": {"language": default_language, "value": default}}
    if translated:
        localized["translatedValues"] = translated
    return localized


def _has_text(localized: dict[str, Any]) -> bool:
    values = [localized["defaultValue"], *localized.get("translatedValues", ())]
    return any(value["value"].strip() for value in values)


def _label_in(message: str) -> Callable[[str], str]:
    """Our own label ``message`` (marked with gettext_noop), as each language says it."""

    def label(language: str) -> str:
        with translation.override(language):
            return _(message)

    return label


def _text_module(
    module_id: str, header: str, body_in: Callable[[str], str], default_language: str
) -> dict[str, Any]:
    """A class text module: our label ``header`` over the owner's text, each localized."""
    return _module(module_id, _label_in(header), body_in, default_language)


def _module(
    module_id: str,
    header_in: Callable[[str], str],
    body_in: Callable[[str], str],
    default_language: str,
) -> dict[str, Any]:
    localized_header = _localized(header_in, default_language)
    localized_body = _localized(body_in, default_language)
    return {
        "id": module_id,
        "header": localized_header["defaultValue"]["value"],
        "body": localized_body["defaultValue"]["value"],
        "localizedHeader": localized_header,
        "localizedBody": localized_body,
    }


# At most this many voucher titles are listed on an object; the rest are counted.
VOUCHERS_LISTED = 5


def loyalty_object(card: Card) -> dict[str, Any]:
    """The loyalty object of ``card`` (wallet.md C2), in the customer's language.

    Plain field changes never notify: no ``notifyPreference`` is set, so a patch is silent
    and the notification budget is spent only by ``add_message``. What it shows follows
    every change the outbox tells of:

    - the stamps, the rewards ready, the next reward (stamps, corrections, a reward earned
      or handed over);
    - the card's vouchers still to use (issued, redeemed, voided, expired: a used or
      expired one leaves the list);
    - the customer's name, or the card's code once the customer was erased;
    - ``state`` INACTIVE while the program is archived (Google moves the pass to "Expired
      passes": it collects no stamps), ACTIVE again when it comes back.
    """
    program = card.program
    language = card.customer.language
    progress = progress_of(card, language)
    ready = card.rewards.filter(status=RewardStatus.READY).count()
    with translation.override(language):
        modules = [{"id": "next", "header": _("Next reward"), "body": progress.text}]
        vouchers = _vouchers_text(card)
        if vouchers:
            modules.append({"id": "vouchers", "header": _("Your vouchers"), "body": vouchers})
        return {
            "id": object_id(card),
            "classId": class_id(program),
            "state": "INACTIVE" if program.status == ProgramStatus.ARCHIVED else "ACTIVE",
            "accountId": card.code,
            "accountName": card.customer.name or card.display_code,
            "loyaltyPoints": {
                "label": _("Stamps"),
                "balance": {"string": f"{progress.stamps}/{progress.goal}"},
            },
            "secondaryLoyaltyPoints": {"label": _("Rewards ready"), "balance": {"int": ready}},
            "barcode": {
                "type": "CODE_128" if program.card_barcode == CardBarcode.CODE128 else "QR_CODE",
                # The short card code, never the card's secret token.
                "value": card.code,
                "alternateText": card.display_code,
            },
            "heroImage": {"sourceUri": {"uri": hero_url(program, progress.stamps)}},
            "textModulesData": modules,
        }


def _vouchers_text(card: Card) -> str:
    """The titles of the card's vouchers that can still be used, one a line; "" for none."""
    usable = Voucher.objects.filter(card=card, status=VoucherStatus.ACTIVE).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=timezone.now())
    )
    titles = list(
        usable.order_by("valid_until", "id").values_list("title", flat=True)[: VOUCHERS_LISTED + 1]
    )
    if len(titles) <= VOUCHERS_LISTED:
        return "\n".join(titles)
    more = usable.count() - VOUCHERS_LISTED
    listed = "\n".join(titles[:VOUCHERS_LISTED])
    return listed + "\n" + ngettext("and %(n)d more", "and %(n)d more", more) % {"n": more}


def offer_class(business: Business, program: Program | None) -> dict[str, Any]:
    """The offer class of ``program``'s vouchers (named after it, in its colour and logo,
    with its terms, in every language the program has them in), or of ``business``'s
    vouchers without a program."""
    body: dict[str, Any] = {
        "id": _offer_class_id(business.pk, program.pk if program is not None else None),
        "issuerName": business.name,
        "provider": business.name,
        "redemptionChannel": "INSTORE",
        "reviewStatus": "UNDER_REVIEW",
    }
    if program is not None:
        title = _program_text(program, "name")
        body["title"] = title["defaultValue"]["value"]
        body["localizedTitle"] = title
        body["hexBackgroundColor"] = program.background_color
        body["titleImage"] = {"sourceUri": {"uri": logo_url(program)}}
        terms = _program_text(program, "terms")
        if _has_text(terms):
            if terms["defaultValue"]["value"]:
                body["finePrint"] = terms["defaultValue"]["value"]
            body["localizedFinePrint"] = terms
    else:
        body["title"] = business.name
        body["hexBackgroundColor"] = business.brand_color
    return body


def offer_state(voucher: Voucher, *, now: Any = None) -> str:
    """ACTIVE while it can be used; COMPLETED once redeemed, INACTIVE once voided, EXPIRED
    past its validity (Google moves all but ACTIVE to "Expired passes")."""
    if voucher.status == VoucherStatus.REDEEMED:
        return "COMPLETED"
    if voucher.status == VoucherStatus.VOID:
        return "INACTIVE"
    if voucher.status == VoucherStatus.EXPIRED:
        return "EXPIRED"
    if voucher.valid_until is not None and voucher.valid_until <= (now or timezone.now()):
        return "EXPIRED"
    return "ACTIVE"


def offer_object(voucher: Voucher) -> dict[str, Any]:
    """The offer object of ``voucher``, in its customer's language (the business's without a
    card): its title and details, its state, its validity, and the code the counter scans
    (the redeem code, or for a staff-scanned voucher without one its token, as on the
    Apple coupon)."""
    card = voucher.card
    language = card.customer.language if card is not None else voucher.business.default_language
    with translation.override(language):
        modules = [{"id": "voucher", "header": _("Voucher"), "body": voucher.title}]
        if voucher.description:
            modules.append({"id": "details", "header": _("Details"), "body": voucher.description})
        if voucher.code:
            modules.append({"id": "code", "header": _("Code"), "body": voucher.code})
    body: dict[str, Any] = {
        "id": offer_object_id(voucher),
        "classId": offer_class_id(voucher),
        "state": offer_state(voucher),
        "textModulesData": modules,
    }
    hero = voucher_hero_url(voucher)
    if hero is not None:
        body["heroImage"] = {"sourceUri": {"uri": hero}}
    barcode = _offer_barcode(voucher)
    if barcode is not None:
        body["barcode"] = barcode
    interval: dict[str, Any] = {"start": {"date": voucher.valid_from.isoformat()}}
    if voucher.valid_until is not None:
        interval["end"] = {"date": voucher.valid_until.isoformat()}
    body["validTimeInterval"] = interval
    return body


def _offer_barcode(voucher: Voucher) -> dict[str, Any] | None:
    if voucher.code:
        if voucher.code_display == CodeDisplay.TEXT:
            return None  # shown as text only, in the code's module
        kind = "CODE_128" if voucher.code_display == CodeDisplay.CODE128 else "QR_CODE"
        return {"type": kind, "value": voucher.code, "alternateText": voucher.code}
    if voucher.redemption_method == RedemptionMethod.STAFF_SCAN:
        # No alternate text: the token is a secret, not something to read out.
        return {"type": "QR_CODE", "value": voucher.token}
    return None


def voucher_save_link(voucher: Voucher) -> str | None:
    """The "Save to Google Wallet" link of ``voucher``'s offer object, or None when Google
    Wallet is not set up: a skinny JWT naming the object and its class (``save_link``)."""
    if not enabled():
        return None
    return _save_link(
        {"offerObjects": [{"id": offer_object_id(voucher), "classId": offer_class_id(voucher)}]}
    )


def save_link(card: Card) -> str | None:
    """The "Save to Google Wallet" link of ``card``, or None when Google Wallet is not set up.

    A skinny JWT (RS256, the service account's key): the ids of the object and its class,
    which the outbox wrote to Google when the card was made or last changed (wallet.md C3).
    """
    if not enabled():
        return None
    return _save_link(
        {"loyaltyObjects": [{"id": object_id(card), "classId": class_id(card.program)}]}
    )


def _save_link(payload: dict[str, Any]) -> str:
    credentials = client().credentials
    claims = {
        "iss": credentials.service_account_email,
        "aud": "google",
        "typ": "savetowallet",
        "iat": int(time.time()),
        "origins": [_origin(settings.PUBLIC_BASE_URL)],
        "payload": payload,
    }
    token = google_jwt.encode(credentials.signer, claims)
    return SAVE_URL + token.decode("ascii")


def _origin(url: str) -> str:
    """The web origin of ``url`` (scheme, host and port, no path): what the save button's
    page is matched against. A base URL with a path or a trailing slash is no origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# The REST client ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AuthResponse(transport.Response):
    status: int
    headers: Any
    data: bytes


class _AuthRequest(transport.Request):
    """google-auth's transport over our pooled httpx client (for the token grant)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _AuthResponse:
        try:
            response = self.http.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            from google.auth.exceptions import TransportError

            raise TransportError(exc) from exc
        return _AuthResponse(response.status_code, response.headers, response.content)


class GoogleWalletClient:
    """One per process: the service account's credentials and one pooled HTTP client."""

    def __init__(self) -> None:
        with open(settings.GOOGLE_WALLET_SERVICE_ACCOUNT_FILE, encoding="utf-8") as key_file:
            info = json.load(key_file)
        if settings.GOOGLE_WALLET_TOKEN_URL:
            info["token_uri"] = settings.GOOGLE_WALLET_TOKEN_URL
        self.credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[SCOPE]
        )
        self.http = httpx.Client(
            base_url=settings.GOOGLE_WALLET_API_URL.rstrip("/") + "/",
            http2=True,
            timeout=settings.GOOGLE_WALLET_TIMEOUT_SECONDS,
        )
        self._auth = _AuthRequest(self.http)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def _token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or not self.credentials.valid:
                try:
                    self.credentials.refresh(self._auth)
                except Exception as exc:  # google-auth's TransportError or RefreshError
                    raise GoogleWalletUnavailable(0, "token", str(exc)) from exc
            return str(self.credentials.token)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """One REST call; raises for anything but a 2xx (see the exception classes)."""
        renewed = False
        while True:
            headers = {"Authorization": f"Bearer {self._token(renew=renewed)}"}
            try:
                response = self.http.request(method, path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                raise GoogleWalletUnavailable(0, type(exc).__name__, str(exc)) from exc
            if response.status_code == 401 and not renewed:
                renewed = True  # the token was revoked or expired early: one fresh try
                continue
            break
        if response.is_success:
            return response
        reason = _reason(response)
        status = response.status_code
        if status == 429 or status >= 500:
            raise GoogleWalletUnavailable(status, reason)
        if status == 403 and reason == "quotaExceeded":
            raise QuotaExceeded(status, reason)
        raise GoogleWalletError(status, reason, response.text[:200])

    def upsert(self, kind: str, resource_id: str, body: dict[str, Any]) -> None:
        """Patch the resource, inserting it when Google does not have it yet."""
        path = f"{kind}/{quote(resource_id, safe='')}"
        try:
            self.call("PATCH", path, body)
        except GoogleWalletError as exc:
            if exc.status != 404:
                raise
            try:
                self.call("POST", kind, body)
            except GoogleWalletError as again:
                if again.status != 409:
                    raise
                # Inserted by a parallel delivery in between: patch it to this state.
                self.call("PATCH", path, body)

    def upsert_many(
        self, kind: str, resources: Iterable[tuple[str, dict[str, Any]]], *, concurrency: int
    ) -> int:
        """``upsert`` each (id, body) of ``resources``, ``concurrency`` calls at a time; how
        many were written.

        ``resources`` is read in the calling thread (it may query the database); only the
        HTTP calls run in the pool, at most ``concurrency`` at once, with at most twice as
        many bodies waiting. A refusal of one resource is logged and the rest go on. Google
        unavailable stops the run: nothing more is sent, and once the calls under way are
        done the first ``GoogleWalletUnavailable`` is raised (the outbox retries the whole,
        and patches are harmless to repeat).
        """
        written = 0
        unavailable: GoogleWalletUnavailable | None = None

        def settle(done: Future[None]) -> None:
            nonlocal written, unavailable
            try:
                done.result()
            except GoogleWalletUnavailable as exc:
                unavailable = unavailable or exc
            except GoogleWalletError as refused:
                log.warning("Google Wallet refused a %s: %s", kind, refused)
            else:
                written += 1

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            pending: set[Future[None]] = set()
            for resource_id, body in resources:
                if unavailable is not None:
                    break
                pending.add(pool.submit(self.upsert, kind, resource_id, body))
                if len(pending) >= 2 * max(1, concurrency):
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        settle(future)
            for future in pending:
                future.exception()  # waits
                settle(future)
        if unavailable is not None:
            raise unavailable
        return written

    def upsert_class(self, program: Program) -> None:
        self.upsert("loyaltyClass", class_id(program), loyalty_class(program))

    def upsert_object(self, card: Card) -> None:
        self.upsert("loyaltyObject", object_id(card), loyalty_object(card))

    def upsert_offer_class(self, business: Business, program: Program | None) -> None:
        body = offer_class(business, program)
        self.upsert("offerClass", body["id"], body)

    def upsert_offer(self, voucher: Voucher) -> None:
        """The voucher's offer class, then its object: both created when Google has neither
        (a voucher issued before offers were written), patched to their state otherwise."""
        self.upsert_offer_class(voucher.business, voucher.program)
        self.upsert("offerObject", offer_object_id(voucher), offer_object(voucher))

    def add_message(
        self, card: Card, *, message_id: str, header: str, body: str, notify: bool
    ) -> None:
        """Add a message to the card's object; ``notify`` makes it a lock-screen notification.

        A message id Google already has (a repeated delivery) counts as added.
        """
        message = {
            "id": message_id,
            "header": header,
            "body": body,
            "messageType": "TEXT_AND_NOTIFY" if notify else "TEXT",
        }
        path = f"loyaltyObject/{quote(object_id(card), safe='')}/addMessage"
        try:
            self.call("POST", path, {"message": message})
        except GoogleWalletError as exc:
            if exc.status != 409:
                raise


def _reason(response: httpx.Response) -> str:
    """Google's machine reason of an error answer (``errors[0].reason``), or its status."""
    try:
        error = response.json()["error"]
        for item in error.get("errors") or ():
            if item.get("reason"):
                return str(item["reason"])
        if "QuotaExceeded" in str(error.get("message", "")):
            return "quotaExceeded"
        return str(error.get("status") or response.reason_phrase)
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.reason_phrase


_client: GoogleWalletClient | None = None
_client_lock = threading.Lock()


def client() -> GoogleWalletClient:
    """The process's client, made on first use."""
    global _client
    with _client_lock:
        if _client is None:
            _client = GoogleWalletClient()
        return _client


def reset_client() -> None:
    """Forget the client (tests, or after the settings changed)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None
