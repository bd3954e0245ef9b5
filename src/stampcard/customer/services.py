"""Joining a program from its join page, and the way back to a card for a returning customer.

A join page faces anyone. It hands out a new card at once, but never an existing one: a
person whose e-mail or phone the business already knows gets their card back only through a
one-time link (or the short code beside it) sent to the e-mail address the business has for
them. The answer to such a request is the same whether or not the address is known, so the
page cannot be used to find out who is a customer.

What a program asks on joining is its own choice (``Program.join_*``). A customer who gives
neither an e-mail address nor a phone number gets an anonymous card: the web card's secret
address and the wallet pass are then their only way back to it, and staff find it by its
code. Nothing joins two anonymous cards, since nothing could show they are one person.

The join form itself does answer differently for a known address (an e-mail instead of a
card): closing that too would mean proving every address before any card, which a
customer at a till will not wait for. It tells no more than that the address is known, and
only to someone who sends it; the "I already have a card" page says nothing at all.
"""

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext

from stampcard import mail, tokens
from stampcard.customer.models import JoinAttempt, ReturnLink
from stampcard.loyalty.models import Card, Customer, JoinChannel, Program
from stampcard.loyalty.services.contacts import clean_email, clean_phone
from stampcard.loyalty.services.enrollment import (
    CustomerAlreadyKnown,
    enroll_customer,
    known_customer,
)
from stampcard.tenancy.models import Business

# How long an e-mailed link and its code work, and how often one address may be sent one.
RETURN_LINK_MINUTES = 15
RETURN_LINKS_PER_HOUR = 3
# Wrong codes typed against one link before it stops taking any.
MAX_CODE_ATTEMPTS = 5
CODE_DIGITS = 6


@dataclass(frozen=True, slots=True)
class Returned:
    """A card opened by an e-mailed link or code, and the claim it was asked for, if any."""

    card: Card
    then_claim: str = ""


@dataclass(frozen=True, slots=True)
class Joined:
    """A join's outcome: a new card, or (a known person) a ticket for the e-mailed code."""

    card: Card | None = None
    ticket: str = ""


def join(
    *,
    business: Business,
    program: Program,
    name: str = "",
    email: str = "",
    phone: str = "",
    birthday: date | None = None,
    marketing_consent: bool = False,
    language: str,
    channel: JoinChannel,
    then_claim: str = "",
    attempt_key: str = "",
) -> Joined:
    """A new customer's card in ``program``, or, when the email or phone is known, an e-mail.

    A known person is sent a way back to their card (``request_return``) and nothing else is
    written; the caller shows the same "check your e-mail" page it shows for any return
    request. Raises ``loyalty.errors.InvalidCustomer`` for details that cannot be kept.

    ``attempt_key`` names this sending of the form (``customer.join_tokens``): sent again, in
    sequence or in parallel, it is answered with what the first sending did (its card, or the
    same ticket with no second e-mail), and nothing more is written.
    """

    def first_sending(ticket: str = "") -> Joined:
        return _join(
            business=business,
            program=program,
            name=name,
            email=email,
            phone=phone,
            birthday=birthday,
            marketing_consent=marketing_consent,
            language=language,
            channel=channel,
            then_claim=then_claim,
            ticket=ticket,
        )

    if not attempt_key:
        return first_sending()
    key_hash = tokens.hash_secret(attempt_key)
    # The e-mailed code's ticket, the same for every sending of this form (only the browser
    # that sent it can compute it), so the code in the one e-mail works whichever page shows.
    ticket = salted_hmac("stampcard.customer.join-ticket", attempt_key).hexdigest()
    with transaction.atomic():
        try:
            with transaction.atomic():
                # A parallel sending's insert of the same key waits here for this
                # transaction, then fails and finds what it wrote.
                attempt = JoinAttempt.objects.create(
                    business=business, program=program, key_hash=key_hash, created_at=timezone.now()
                )
        except IntegrityError:
            earlier = _attempt_of(program, attempt_key)
            if earlier is None:  # the key of another program's form: a plain join
                return first_sending()
            return Joined(card=earlier.card) if earlier.card else Joined(ticket=ticket)
        # A refusal (InvalidCustomer) rolls the attempt back with the rest: the corrected
        # form, sent with the same token, is a first sending.
        joined = first_sending(ticket)
        if joined.card is not None:
            attempt.card = joined.card
            attempt.save(update_fields=["card"])
    return joined


def card_of_earlier_sending(*, program: Program, attempt_key: str) -> Card | None:
    """The card an earlier sending of the same form made (``join``'s ``attempt_key``), if
    any: a double tap on a form that joins and then does more (the claim page) is answered
    with that card, not with what the first sending's "more" left behind."""
    attempt = _attempt_of(program, attempt_key) if attempt_key else None
    return attempt.card if attempt is not None else None


def _attempt_of(program: Program, attempt_key: str) -> JoinAttempt | None:
    return (
        JoinAttempt.objects.filter(program=program, key_hash=tokens.hash_secret(attempt_key))
        .select_related("card")
        .first()
    )


def _join(
    *,
    business: Business,
    program: Program,
    name: str,
    email: str,
    phone: str,
    birthday: date | None,
    marketing_consent: bool,
    language: str,
    channel: JoinChannel,
    then_claim: str,
    ticket: str = "",
) -> Joined:
    try:
        card = enroll_customer(
            business=business,
            program=program,
            name=name,
            email=email,
            phone=phone,
            birthday=birthday,
            language=language,
            marketing_consent=marketing_consent,
            join_channel=channel,
            only_new=True,
        )
    except CustomerAlreadyKnown:
        return Joined(
            ticket=request_return(
                business=business,
                program=program,
                email=email,
                phone=phone,
                then_claim=then_claim,
                ticket=ticket,
            )
        )
    return Joined(card=card)


def request_return(
    *,
    business: Business,
    program: Program,
    email: str = "",
    phone: str = "",
    then_claim: str = "",
    ticket: str = "",
) -> str:
    """Send the customer with this email (or phone) a one-time way back to their card.

    Returns a ticket for the page that asks for the e-mailed code. Every request gets one,
    known address or not, so the page looks the same either way. Nothing is sent when the
    business does not know the address, when the customer has no e-mail address to prove
    ownership through, or when the address had ``RETURN_LINKS_PER_HOUR`` links in the last
    hour. The link and code expire after ``RETURN_LINK_MINUTES`` and open the card once;
    ``then_claim`` is handed back with the card when they do (``Returned``). ``ticket``, when
    given, is the ticket to use (a join form's own, ``join``), else a fresh one is drawn.
    The e-mail is recorded with the link, in its transaction, and sent from the outbox after
    commit (``stampcard.mail``): a slow or broken mail server never holds up the page.
    """
    email = clean_email(email)
    phone = clean_phone(phone, region=business.country)
    ticket = ticket or tokens.new_secret(18)
    customer = known_customer(business, email=email, phone=phone) if email or phone else None
    if customer is None or not customer.email:
        return ticket
    now = timezone.now()
    token = tokens.new_secret()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    ticket_hash = tokens.hash_secret(ticket)
    with transaction.atomic():
        # Serialises the requests for one address, so the limit holds under parallel requests.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        recent = ReturnLink.objects.filter(
            customer=customer, created_at__gt=now - timedelta(hours=1)
        ).count()
        if recent >= RETURN_LINKS_PER_HOUR:
            return ticket
        ReturnLink.objects.create(
            business=business,
            customer=customer,
            program=program,
            token_hash=tokens.hash_secret(token),
            ticket_hash=ticket_hash,
            code_hash=_code_hash(ticket_hash, code),
            created_at=now,
            expires_at=now + timedelta(minutes=RETURN_LINK_MINUTES),
            then_claim=then_claim[: ReturnLink._meta.get_field("then_claim").max_length],
        )
        # Recorded with the link, sent after commit from the outbox (stampcard.mail).
        _send_return_mail(customer=customer, program=program, token=token, code=code)
    return ticket


def open_by_link(*, program: Program, token: str) -> Returned | None:
    """The card an e-mailed link opens, using the link up; None if it is unknown or spent."""
    if not token or len(token) > 100:
        return None
    with transaction.atomic():
        link = (
            ReturnLink.objects.select_for_update()
            .filter(program=program, token_hash=tokens.hash_secret(token))
            .first()
        )
        if link is None or not _open(link):
            return None
        return _use(link)


def link_finishes_a_claim(*, program: Program, token: str) -> bool:
    """Whether an e-mailed link, still open, also claims a code (its page says so); spends
    nothing, since mail scanners open links too."""
    if not token or len(token) > 100:
        return False
    return (
        ReturnLink.objects.filter(
            program=program,
            token_hash=tokens.hash_secret(token),
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .exclude(then_claim="")
        .exists()
    )


def open_by_code(*, program: Program, ticket: str, code: str) -> Returned | None:
    """The card the e-mailed code opens for this ticket; None for a wrong, spent or late code.

    Each ticket takes ``MAX_CODE_ATTEMPTS`` codes at most, so a code cannot be guessed.
    """
    code = "".join(code.split())
    if not ticket or len(ticket) > 100 or not code.isdigit() or len(code) != CODE_DIGITS:
        return None
    ticket_hash = tokens.hash_secret(ticket)
    with transaction.atomic():
        link = (
            ReturnLink.objects.select_for_update()
            .filter(program=program, ticket_hash=ticket_hash)
            .first()
        )
        if link is None or not _open(link) or link.attempts >= MAX_CODE_ATTEMPTS:
            return None
        if not constant_time_compare(_code_hash(ticket_hash, code), link.code_hash):
            ReturnLink.objects.filter(pk=link.pk).update(attempts=F("attempts") + 1)
            return None
        return _use(link)


def _open(link: ReturnLink) -> bool:
    return link.used_at is None and link.expires_at > timezone.now()


def _use(link: ReturnLink) -> Returned:
    """Spend ``link`` (its row is locked) and hand its customer's card in its program."""
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    customer = link.customer
    # The customer's card in the program, made now if they never joined this one.
    card = enroll_customer(business=link.business, program=link.program, email=customer.email)
    return Returned(card=card, then_claim=link.then_claim)


def _code_hash(ticket_hash: str, code: str) -> str:
    return salted_hmac("stampcard.customer.return-code", f"{ticket_hash}:{code}").hexdigest()


def _send_return_mail(*, customer: Customer, program: Program, token: str, code: str) -> None:
    from stampcard.customer.links import return_url

    texts = program.texts_in(customer.language)
    context = {
        "program": program,
        "texts": texts,
        "business": program.business,
        "url": return_url(program, token),
        "code": code,
        "minutes": RETURN_LINK_MINUTES,
    }
    with translation.override(customer.language):
        subject = gettext("Your card: %(program)s") % {"program": texts["name"]}
        body = render_to_string("customer/email/return.txt", context)
    mail.send_later(
        business_id=program.business_id,
        to=[customer.email],
        subject=subject,
        body=body,
        # Worth sending only while the link works.
        valid_for=timedelta(minutes=RETURN_LINK_MINUTES),
    )
