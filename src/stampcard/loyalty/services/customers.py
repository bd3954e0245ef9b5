"""A business's customers: finding them, CSV import and export, and erasing one on request.

Reads are bounded whatever the number of customers: a page is one query of at most
``PAGE_SIZE`` rows, taken after the last id seen (keyset), never an OFFSET or a count of all.
Every figure on a row (stamps, last visit, rewards waiting) is a subquery of that one query.
The searches use the indexes of migration ``loyalty.0006_customer_search_indexes``.
"""

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from stampcard.audit.services import record
from stampcard.csv_safety import safe_row
from stampcard.loyalty import errors
from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import (
    Card,
    Customer,
    JoinChannel,
    Program,
    Reward,
    RewardStatus,
    StampEvent,
)
from stampcard.loyalty.selectors import customer_search
from stampcard.loyalty.services.contacts import clean_email, clean_phone
from stampcard.loyalty.services.enrollment import enroll_customer
from stampcard.outbox.services import publish_card_changed
from stampcard.refusals import Refusal
from stampcard.storable import is_storable
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require

PAGE_SIZE = 50
MAX_QUERY = 100
# Last visit: within so many days (positive), or not for so many days (negative).
LAST_VISIT_CHOICES = (7, 30, 90, -30, -90, -180)
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
IMPORT_COLUMNS = ("name", "email", "phone", "birthday", "language", "marketing_consent")
EXPORT_COLUMNS = (
    "name",
    "email",
    "phone",
    "birthday",
    "language",
    "marketing_consent",
    "join_channel",
    "joined",
    "cards",
    "stamps",
    "lifetime_stamps",
)
_YES = {"1", "yes", "true", "y"}
_NO = {"", "0", "no", "false", "n"}


@dataclass(frozen=True, slots=True)
class CustomerFilters:
    """What the customers list is narrowed to; every part optional."""

    query: str = ""
    last_visit: int | None = None
    min_stamps: int | None = None
    rewards_waiting: bool = False
    program_id: int | None = None
    location_id: int | None = None
    join_channel: str = ""


@dataclass(frozen=True, slots=True)
class CustomerPage:
    rows: Sequence[Customer]
    next_after: int | None


def customer_page(
    *, business: Business, actor: Actor, filters: CustomerFilters, after: int | None = None
) -> CustomerPage:
    """One page of the business's customers, newest first, after the customer id ``after``.

    Each row carries ``stamps`` (on all its cards), ``last_visit`` and ``rewards_waiting``.
    E-mail and phone are searched in part only by who may see them in full (see
    ``tenancy.permissions``); others find a customer by the whole address or number.
    """
    customers: QuerySet[Customer] = Customer.objects.filter(business=business)
    customers = _filtered(customers, business=business, actor=actor, filters=filters)
    if after is not None:
        customers = customers.filter(pk__lt=after)
    cards = Card.objects.filter(customer=OuterRef("pk"))
    # A search finds its customers through the trigram indexes and sorts what it found
    # (``+ 0`` keeps PostgreSQL from walking every customer newest first until a page of
    # them match, which costs the whole table when the matches are old ones).
    newest_first = (F("pk") + 0).desc() if filters.query.strip() else F("pk").desc()
    rows = list(
        # A card of the customer's with a reward ready, looked up per row shown: a scalar
        # subquery, which PostgreSQL never turns into a hash of every ready reward (as it
        # may an EXISTS in the select list).
        customers.alias(waiting_card=Subquery(cards.filter(_has_ready_reward()).values("pk")[:1]))
        .annotate(
            stamps=Coalesce(
                Subquery(
                    cards.order_by().values("customer").annotate(n=Sum("stamps")).values("n"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            last_visit=Subquery(
                cards.order_by().values("customer").annotate(m=Max("last_stamp_at")).values("m")
            ),
            rewards_waiting=ExpressionWrapper(
                Q(waiting_card__isnull=False), output_field=BooleanField()
            ),
        )
        .order_by(newest_first)[: PAGE_SIZE + 1]
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return CustomerPage(rows=rows, next_after=rows[-1].pk if more and rows else None)


def _has_ready_reward() -> Exists:
    """The card has a reward ready: a probe of the index on (card, status)."""
    return Exists(Reward.objects.filter(card=OuterRef("pk"), status=RewardStatus.READY))


def _filtered(
    customers: QuerySet[Customer], *, business: Business, actor: Actor, filters: CustomerFilters
) -> QuerySet[Customer]:
    cards = Card.objects.filter(customer=OuterRef("pk"))
    query = filters.query.replace("\x00", "").strip()[:MAX_QUERY]
    if query:
        customers = customers.filter(_search(query, actor=actor, business=business))
    if filters.last_visit:
        cutoff = timezone.now() - timedelta(days=abs(filters.last_visit))
        recent = Exists(cards.filter(last_stamp_at__gte=cutoff))
        customers = customers.filter(recent if filters.last_visit > 0 else ~recent)
    if filters.min_stamps is not None:
        customers = customers.filter(Exists(cards.filter(stamps__gte=filters.min_stamps)))
    if filters.rewards_waiting:
        customers = customers.filter(Exists(cards.filter(_has_ready_reward())))
    if filters.program_id is not None:
        customers = customers.filter(Exists(cards.filter(program_id=filters.program_id)))
    if filters.location_id is not None:
        customers = customers.filter(
            Exists(
                StampEvent.objects.filter(
                    card__customer=OuterRef("pk"), location_id=filters.location_id
                )
            )
        )
    if filters.join_channel:
        customers = customers.filter(join_channel=filters.join_channel)
    return customers


def _search(query: str, *, actor: Actor, business: Business) -> Q:
    """By name, card code, e-mail or phone: in part for who sees contacts, else in full."""
    found = customer_search(query, actor, business)
    code = normalize_card_code(query)
    if code is not None:
        found |= Q(Exists(Card.objects.filter(customer=OuterRef("pk"), code=code)))
    return found


# --- Export ---------------------------------------------------------------------------


def export_rows(*, business: Business, actor: Actor) -> Iterator[list[object]]:
    """The CSV rows of every customer (header first), safe to open in a spreadsheet.

    Needs MANAGE_CUSTOMERS, checked and audited before the first row is read. Read in chunks
    of 2,000 with their cards prefetched per chunk, so memory stays flat and no row costs a
    query of its own.
    """
    require(actor, Permission.MANAGE_CUSTOMERS, business=business)
    record(business=business, actor=actor, action="customers.exported")
    return _export_rows(business)


def _export_rows(business: Business) -> Iterator[list[object]]:
    yield list(EXPORT_COLUMNS)
    customers = Customer.objects.filter(business=business).prefetch_related("cards").order_by("pk")
    for customer in customers.iterator(chunk_size=2000):
        cards = list(customer.cards.all())
        yield safe_row(
            [
                customer.name,
                customer.email,
                str(customer.phone or ""),
                customer.birthday.isoformat() if customer.birthday else "",
                customer.language,
                "yes" if customer.marketing_consent else "no",
                customer.join_channel,
                customer.created_at.date().isoformat(),
                " ".join(card.code for card in cards),
                sum(card.stamps for card in cards),
                sum(card.lifetime_stamps for card in cards),
            ]
        )


# --- Import ---------------------------------------------------------------------------


class ImportRefused(Refusal):
    """A CSV import that was not done: nothing of it was written."""

    code = "invalid_customer_import"
    default_message = _("Nothing was imported. Fix the rows below and upload the file again.")
    http_status = 400

    def __init__(
        self,
        problems: list[tuple[int, str]] | None = None,
        message: "str | Promise | None" = None,
        **params: object,
    ) -> None:
        super().__init__(message, **params)
        self.problems = problems or []


@dataclass(slots=True)
class _Row:
    line: int
    name: str
    email: str
    phone: str
    birthday: date | None
    language: str | None
    marketing_consent: bool


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    already_known: int
    lines: int = field(default=0)


def import_customers(
    *, business: Business, actor: Actor, program: Program, data: bytes
) -> ImportResult:
    """Enrol every person of a CSV file in ``program``: all of them, or none.

    The header names the columns (``IMPORT_COLUMNS``; ``name``, ``email`` or ``phone`` at
    least). Every row is checked before anything is written; any problem refuses the whole
    file with ``ImportRefused`` listing each bad row by its line. A person already known by
    e-mail or phone gets a card in ``program`` and is not duplicated. Needs MANAGE_CUSTOMERS;
    one transaction; audited.
    """
    require(actor, Permission.MANAGE_CUSTOMERS, business=business)
    if not Program.objects.filter(business=business, pk=program.pk).exists():
        raise errors.ProgramNotFound()
    rows = _parsed(data, business=business)
    languages = {code for code, _name in Customer._meta.get_field("language").choices or ()}
    created = known = 0
    with transaction.atomic():
        for row in rows:
            before = Customer.objects.filter(business=business).filter(
                (Q(email=row.email) if row.email else Q(pk__in=[]))
                | (Q(phone=row.phone) if row.phone else Q(pk__in=[]))
            )
            exists = before.exists()
            try:
                enroll_customer(
                    business=business,
                    program=program,
                    name=row.name,
                    email=row.email,
                    phone=row.phone,
                    birthday=row.birthday,
                    language=row.language if row.language in languages else None,
                    marketing_consent=row.marketing_consent,
                    join_channel=JoinChannel.IMPORT,
                )
            except Refusal as refusal:
                # Checked above already; a row that still fails undoes the whole import.
                raise ImportRefused([(row.line, refusal.message)]) from None
            known += exists
            created += not exists
        record(
            business=business,
            actor=actor,
            action="customers.imported",
            target=program,
            created=created,
            already_known=known,
        )
    return ImportResult(created=created, already_known=known, lines=len(rows))


def _parsed(data: bytes, *, business: Business) -> list[_Row]:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            message=_("The file is larger than %(most)s MB. Split it into smaller files.")
            % {"most": MAX_IMPORT_BYTES // (1024 * 1024)}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            message=_("The file is not UTF-8 text. Save it as CSV UTF-8.")
        ) from None
    if not is_storable(text):
        raise ImportRefused(message=_("The file contains a character that cannot be saved."))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    if not header or unknown or not {"name", "email", "phone"} & set(header):
        raise ImportRefused(
            message=_("The first line must name the columns: %(columns)s.")
            % {"columns": ", ".join(IMPORT_COLUMNS)}
        )
    reader.fieldnames = header
    rows: list[_Row] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    languages = {code for code, _name in Customer._meta.get_field("language").choices or ()}
    try:
        for number, raw in enumerate(reader, start=2):
            if len(rows) + len(problems) >= MAX_IMPORT_ROWS:
                raise ImportRefused(
                    message=_("A file holds at most %(most)s customers. Split it.")
                    % {"most": MAX_IMPORT_ROWS}
                )
            if None in raw:
                problems.append((number, gettext("This row has more cells than the header.")))
                continue
            row, problem = _row(number, raw, business=business, languages=languages)
            if problem is None and row is not None:
                for key in (row.email, row.phone):
                    if key and key in seen:
                        problem = gettext("The same person is on line %(line)d.") % {
                            "line": seen[key]
                        }
                    elif key:
                        seen[key] = number
            if problem is not None:
                problems.append((number, problem))
            elif row is not None:
                rows.append(row)
    except csv.Error:
        raise ImportRefused(message=_("The file is not a valid CSV file.")) from None
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused(message=_("The file has no customers in it."))
    return rows


def _row(
    line: int, raw: dict[str, str], *, business: Business, languages: set[str]
) -> tuple[_Row | None, str | None]:
    cell = {key: (value or "").strip() for key, value in raw.items()}
    if not any(cell.values()):
        return None, None  # an empty line
    name = cell.get("name", "")
    if len(name) > 120:
        return None, gettext("The name is too long.")
    try:
        email = clean_email(cell.get("email", ""))
        phone = clean_phone(cell.get("phone", ""), region=business.country)
    except Refusal as refusal:
        return None, refusal.message
    if not (name or email or phone):
        return None, gettext("Give at least a name, an e-mail or a phone number.")
    birthday = None
    if cell.get("birthday"):
        try:
            birthday = date.fromisoformat(cell["birthday"])
        except ValueError:
            return None, gettext("Write the birthday as YYYY-MM-DD, for example 1990-04-30.")
    language = cell.get("language", "").lower() or None
    if language is not None and language not in languages:
        return None, gettext("Unknown language “%(language)s”.") % {"language": language[:10]}
    consent = cell.get("marketing_consent", "").lower()
    if consent not in _YES | _NO:
        return None, gettext("Write marketing_consent as yes or no.")
    return (
        _Row(
            line=line,
            name=name,
            email=email,
            phone=phone,
            birthday=birthday,
            language=language,
            marketing_consent=consent in _YES,
        ),
        None,
    )


# --- Erasure --------------------------------------------------------------------------


class CustomerNotFound(Refusal):
    code = "customer_not_found"
    default_message = _("No such customer.")
    http_status = 404


def erase_customer(*, business: Business, actor: Actor, customer: Customer) -> Customer:
    """Erase a person on their request: their personal data goes, the ledger stays.

    Name, e-mail, phone, birthday, language and consent are blanked in place; the cards,
    their stamp ledger, rewards and vouchers stay (the business's books must still add up),
    now belonging to an anonymous customer. Each card's wallet pass is told to update, so
    no name lingers on a phone. Needs MANAGE_CUSTOMERS; locks the customer; audited with
    no personal data in the entry.
    """
    require(actor, Permission.MANAGE_CUSTOMERS, business=business)
    with transaction.atomic():
        found = (
            Customer.objects.select_for_update().filter(business=business, pk=customer.pk).first()
        )
        if found is None:
            raise CustomerNotFound()
        Customer.objects.filter(pk=found.pk).update(
            name="",
            email="",
            phone="",
            birthday=None,
            language=business.default_language,
            marketing_consent=False,
        )
        now = timezone.now()
        for card_id, version in Card.objects.filter(customer=found).values_list("pk", "version"):
            Card.objects.filter(pk=card_id).update(version=F("version") + 1, updated_at=now)
            publish_card_changed(business_id=business.pk, card_id=card_id, version=version + 1)
        record(business=business, actor=actor, action="customer.erased", target=found)
        found.refresh_from_db()
    return found


def is_erased(customer: Customer) -> bool:
    return not (customer.name or customer.email or customer.phone or customer.birthday)
