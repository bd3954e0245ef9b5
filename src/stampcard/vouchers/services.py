"""Issuing and redeeming vouchers, and filling the code pools they draw redeem codes from.

Every consumption (a voucher redeemed, a pooled code handed out) is one conditional write
that cannot succeed twice, whatever runs in parallel.
"""

import csv
import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from stampcard import tokens
from stampcard.audit.services import record
from stampcard.idempotency.services import IdempotentRequest, remember_outcome, replay_if_done
from stampcard.loyalty.models import Card, CodeDisplay, Program, RedemptionMethod, Validity
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.models import Business
from stampcard.vouchers import errors
from stampcard.vouchers.models import (
    CodePool,
    CodePoolKind,
    PoolCode,
    Voucher,
    VoucherOrigin,
    VoucherStatus,
)
from stampcard.vouchers.redeem_codes import UNAMBIGUOUS_ALPHABET, new_code

# Who may consume a voucher, by how it is meant to be redeemed. Operators may always.
REDEEMERS: dict[str, frozenset[str]] = {
    RedemptionMethod.SELF_REDEEM: frozenset({ActorKind.CUSTOMER, ActorKind.ADMIN}),
    RedemptionMethod.STAFF_SCAN: frozenset({ActorKind.STAFF, ActorKind.DEVICE, ActorKind.ADMIN}),
    RedemptionMethod.REDEEM_CODE: frozenset(
        {ActorKind.STAFF, ActorKind.DEVICE, ActorKind.API, ActorKind.ADMIN}
    ),
}
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_VALIDITY = {Validity.DAYS: 3650, Validity.MONTHS: 120}
MAX_CODES_PER_CALL = 2_000_000
POOL_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ValidityRule:
    """How long a voucher lasts: UNLIMITED, N DAYS, N MONTHS, or until a FIXED DATE."""

    kind: Validity = Validity.UNLIMITED
    amount: int | None = None
    until: date | None = None

    def valid_until(self, *, start: datetime, time_zone: str) -> datetime | None:
        """The end of validity for a voucher issued at ``start``, or None if unlimited.

        DAYS and MONTHS count from the moment of issue; a FIXED DATE lasts to the end of
        that day in the business's time zone.
        """
        if self.kind == Validity.UNLIMITED:
            return None
        zone = ZoneInfo(time_zone)
        if self.kind in (Validity.DAYS, Validity.MONTHS):
            most = MAX_VALIDITY[self.kind]
            if not self.amount or not 1 <= self.amount <= most:
                raise errors.InvalidVoucher(
                    _("Give a number of days or months from 1 to %(most)d."), most=most
                )
            # Counted on the calendar where the business is: a month after 31 March is
            # 30 April there, whatever the date is in UTC.
            local_start = start.astimezone(zone)
            if self.kind == Validity.DAYS:
                return local_start + timedelta(days=self.amount)
            return local_start + relativedelta(months=self.amount)
        if self.until is None:
            raise errors.InvalidVoucher(_("Choose the date the voucher is valid until."))
        end = datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=zone)
        if end <= start:
            raise errors.InvalidVoucher(_("The date the voucher is valid until has passed."))
        return end


def _local(when: datetime, business: Business) -> str:
    local = timezone.localtime(when, ZoneInfo(business.time_zone))
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")


def issue_voucher(
    *,
    business: Business,
    actor: Actor,
    title: str,
    origin: VoucherOrigin,
    redemption_method: RedemptionMethod,
    description: str = "",
    card: Card | None = None,
    program: Program | None = None,
    code: str = "",
    code_pool: CodePool | None = None,
    code_display: CodeDisplay = CodeDisplay.QR,
    validity: ValidityRule | None = None,
    now: datetime | None = None,
) -> Voucher:
    """Issue one voucher, bound to ``card`` or free-standing (printable) when there is none.

    The redeem code is the one given, or drawn from ``code_pool`` (one pooled code per
    voucher, never handed out twice). Refuses an empty title, a card or pool of another
    business, and a validity that has already ended. Audited when a person issues it.
    """
    title = title.strip()
    if not title:
        raise errors.InvalidVoucher(_("Give the voucher a title."))
    if len(title) > Voucher._meta.get_field("title").max_length:  # type: ignore[operator]
        raise errors.InvalidVoucher(_("The title is too long."))
    if redemption_method not in RedemptionMethod.values:
        raise errors.InvalidVoucher(_("Choose how the voucher is redeemed."))
    if code_display not in CodeDisplay.values:
        raise errors.InvalidVoucher(_("Choose how the code is shown."))
    for owned in (card, program, code_pool):
        if owned is not None and owned.business_id != business.pk:
            raise errors.VoucherNotFound()
    code = code.strip()
    if code and not POOL_CODE_PATTERN.match(code):
        raise errors.InvalidVoucher(_("A redeem code uses only letters, digits, - and _."))
    now = now or timezone.now()
    valid_until = (validity or ValidityRule()).valid_until(start=now, time_zone=business.time_zone)
    with transaction.atomic():
        voucher = Voucher.objects.create(
            business=business,
            card=card,
            program=program,
            token=tokens.new_secret(24),
            title=title,
            description=description.strip(),
            redemption_method=redemption_method,
            code=code,
            code_display=code_display,
            valid_from=now,
            valid_until=valid_until,
            origin=origin,
        )
        if code_pool is not None and not code:
            voucher.code = _draw_pool_code(business=business, pool=code_pool, voucher=voucher)
            voucher.save(update_fields=["code"])
        if actor.kind != ActorKind.SYSTEM:
            record(business=business, actor=actor, action="voucher.issued", target=voucher)
    return voucher


def issue_goal_voucher(
    *, business: Business, program_id: int, card_id: int, now: datetime
) -> Voucher:
    """The Smart Voucher a card earns at its program's goal, as the program describes it."""
    program = Program.objects.select_related("voucher_code_pool").get(pk=program_id)
    return issue_voucher(
        business=business,
        actor=Actor.system(),
        title=program.reward_title,
        description=program.reward_description,
        origin=VoucherOrigin.GOAL,
        redemption_method=RedemptionMethod(program.voucher_redemption),
        card=Card.objects.get(pk=card_id),
        program=program,
        code_pool=program.voucher_code_pool,
        code_display=CodeDisplay(program.voucher_code_display),
        validity=ValidityRule(
            kind=Validity(program.voucher_validity),
            amount=program.voucher_validity_amount,
            until=program.voucher_valid_until,
        ),
        now=now,
    )


def _draw_pool_code(*, business: Business, pool: CodePool, voucher: Voucher) -> str:
    """Hand one code of ``pool`` to ``voucher``; a pooled code goes to one voucher only."""
    if pool.kind == CodePoolKind.STATIC:
        return pool.static_code
    free_codes = PoolCode.objects.filter(pool=pool, voucher__isnull=True)
    for _attempt in range(3):
        # SKIP LOCKED lets parallel issues take different free codes instead of queueing.
        free = free_codes.select_for_update(skip_locked=True).order_by("id").first()
        if free is not None:
            free.voucher = voucher
            free.save(update_fields=["voucher"])
            return free.code
        # A row taken by a parallel issue that committed in between can make the locking
        # read come back empty; only a pool with no free code left is exhausted.
        if not free_codes.exists():
            break
    if pool.kind == CodePoolKind.IMPORTED:
        raise errors.PoolExhausted(pool=pool.name)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return PoolCode.objects.create(
                    business=business, pool=pool, code=new_code(pool.code_length), voucher=voucher
                ).code
        except IntegrityError:
            continue
    raise errors.PoolExhausted(pool=pool.name)


def _find_voucher(*, business: Business, token: str | None, code: str | None) -> Voucher:
    vouchers = Voucher.objects.filter(business=business)
    found: Voucher | None = None
    if token:
        found = vouchers.filter(token=token).first()
    elif code and code.strip():
        matches = vouchers.filter(code=code.strip())
        active = list(matches.filter(status=VoucherStatus.ACTIVE)[:2])
        if len(active) > 1:
            raise errors.AmbiguousCode()
        found = active[0] if active else matches.order_by("-id").first()
    if found is None:
        raise errors.VoucherNotFound()
    return found


def redeem_voucher(
    *,
    business: Business,
    actor: Actor,
    token: str | None = None,
    code: str | None = None,
    idempotency_key: str | None = None,
) -> Voucher:
    """Consume a voucher found by its token (QR, voucher page) or its redeem code.

    Guarantees: a voucher is consumed at most once; the consuming write is one UPDATE that
    only matches an active voucher inside its validity, so of any number of parallel attempts
    exactly one succeeds and the others get ``VoucherAlreadyRedeemed``. The actor must fit the
    voucher's redemption method. With an ``idempotency_key`` a retry of the successful call
    raises ``AlreadyDone``, also when it ran beside the first attempt. Audited.
    """
    request = IdempotentRequest.for_key(
        idempotency_key,
        business_id=business.pk,
        operation="redeem_voucher",
        token=token,
        code=code,
    )
    now = timezone.now()
    with transaction.atomic():
        if request is not None:
            replay_if_done(request)
        voucher = _find_voucher(business=business, token=token, code=code)
        if actor.kind not in REDEEMERS[voucher.redemption_method]:
            raise errors.WrongRedemptionMethod(method=voucher.get_redemption_method_display())
        consumed = (
            Voucher.objects.filter(pk=voucher.pk, status=VoucherStatus.ACTIVE, valid_from__lte=now)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
            .update(
                status=VoucherStatus.REDEEMED,
                redeemed_at=now,
                redeemed_by_kind=actor.kind,
                redeemed_by_user_id=actor.user_id,
                redeemed_by_device_id=actor.device_id,
                redeemed_at_location_id=actor.location_id,
            )
        )
        voucher.refresh_from_db()
        if consumed != 1:
            if request is not None:
                # A retry that waited for its own first attempt finds that attempt's key now.
                replay_if_done(request)
            _explain_refusal(business=business, voucher=voucher, now=now)
        record(business=business, actor=actor, action="voucher.redeemed", target=voucher)
        if request is not None:
            remember_outcome(request, {"voucher_id": voucher.pk, "redeemed_at": now.isoformat()})
    return voucher


def _explain_refusal(*, business: Business, voucher: Voucher, now: datetime) -> None:
    if voucher.status == VoucherStatus.REDEEMED and voucher.redeemed_at is not None:
        raise errors.VoucherAlreadyRedeemed(when=_local(voucher.redeemed_at, business))
    if voucher.status == VoucherStatus.VOID:
        raise errors.VoucherVoid()
    if voucher.valid_until is not None and voucher.valid_until <= now:
        raise errors.VoucherExpired(when=_local(voucher.valid_until, business))
    if voucher.valid_from > now:
        raise errors.VoucherNotYetValid(when=_local(voucher.valid_from, business))
    raise errors.VoucherExpired(when=_local(voucher.valid_until or now, business))


def void_voucher(*, business: Business, actor: Actor, voucher: Voucher, reason: str) -> Voucher:
    """Cancel an active voucher. Refuses one already redeemed. Audited."""
    with transaction.atomic():
        voided = Voucher.objects.filter(
            pk=voucher.pk, business=business, status=VoucherStatus.ACTIVE
        ).update(status=VoucherStatus.VOID)
        voucher.refresh_from_db()
        if voided != 1:
            _explain_refusal(business=business, voucher=voucher, now=timezone.now())
        record(
            business=business, actor=actor, action="voucher.voided", target=voucher, reason=reason
        )
    return voucher


def create_code_pool(
    *,
    business: Business,
    actor: Actor,
    name: str,
    kind: CodePoolKind,
    static_code: str = "",
    code_length: int = 8,
) -> CodePool:
    """A new pool. A static pool needs its code; generated codes are 6 to 32 symbols."""
    static_code = static_code.strip()
    if kind == CodePoolKind.STATIC and not POOL_CODE_PATTERN.match(static_code):
        raise errors.InvalidVoucher(_("A static code uses only letters, digits, - and _."))
    if not 6 <= code_length <= 32:
        raise errors.InvalidVoucher(_("Generated codes are 6 to 32 characters long."))
    with transaction.atomic():
        pool = CodePool.objects.create(
            business=business,
            name=name.strip() or str(_("Redeem codes")),
            kind=kind,
            static_code=static_code if kind == CodePoolKind.STATIC else "",
            code_length=code_length,
        )
        record(business=business, actor=actor, action="code_pool.created", target=pool)
    return pool


# Random bytes map onto the alphabet by a lookup table; bytes past the largest multiple of
# the alphabet's size are dropped, so every symbol is equally likely.
_USABLE = 256 - 256 % len(UNAMBIGUOUS_ALPHABET)
_BYTE_TO_SYMBOL = bytes(
    UNAMBIGUOUS_ALPHABET[b % len(UNAMBIGUOUS_ALPHABET)].encode()[0] if b < _USABLE else 0
    for b in range(256)
)
_UNUSABLE = bytes(range(_USABLE, 256))


def _random_codes(count: int, length: int) -> set[str]:
    codes: set[str] = set()
    while len(codes) < count:
        missing = count - len(codes)
        raw = secrets.token_bytes(missing * length * 9 // 8 + length)
        symbols = raw.translate(_BYTE_TO_SYMBOL, _UNUSABLE).decode()
        codes.update(symbols[i : i + length] for i in range(0, len(symbols) - length + 1, length))
    while len(codes) > count:
        codes.pop()
    return codes


def generate_codes(*, business: Business, actor: Actor, pool: CodePool, count: int) -> int:
    """Add ``count`` new unique codes to a generated pool; returns how many were added.

    Codes are drawn from an unambiguous alphabet and never repeat within the pool, also not
    with codes it already holds. All or nothing: one transaction.
    """
    if pool.business_id != business.pk or pool.kind != CodePoolKind.GENERATED:
        raise errors.InvalidVoucher(_("Codes can only be generated into a generated pool."))
    if not 1 <= count <= MAX_CODES_PER_CALL:
        raise errors.InvalidVoucher(
            _("Generate between 1 and %(most)d codes at a time."), most=MAX_CODES_PER_CALL
        )
    with transaction.atomic():
        added = 0
        while added < count:
            added += _store_codes(pool, _random_codes(count - added, pool.code_length))
        record(
            business=business, actor=actor, action="code_pool.generated", target=pool, count=count
        )
    return added


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    already_in_pool: int


def import_codes(
    *, business: Business, actor: Actor, pool: CodePool, csv_text: str
) -> ImportResult:
    """Import codes created in the POS (CSV: a ``code`` column, or the first column).

    All or nothing: any invalid code refuses the whole file, naming the first bad lines.
    Codes already in the pool, or repeated in the file, are counted and skipped, so importing
    the same file twice adds nothing the second time.
    """
    if pool.business_id != business.pk or pool.kind != CodePoolKind.IMPORTED:
        raise errors.InvalidCodeImport(_("Codes can only be imported into an import pool."))
    if len(csv_text.encode()) > MAX_IMPORT_BYTES:
        raise errors.InvalidCodeImport(_("The file is larger than 20 MB."))
    try:
        rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    except csv.Error:
        raise errors.InvalidCodeImport(_("The file is not a readable CSV file.")) from None
    column = 0
    codes: list[str] = []
    bad_lines: list[int] = []
    for line, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if line == 1 and any(cell.strip().lower() == "code" for cell in row):
            column = [cell.strip().lower() for cell in row].index("code")
            continue
        value = row[column].strip() if column < len(row) else ""
        if POOL_CODE_PATTERN.match(value):
            codes.append(value)
        else:
            bad_lines.append(line)
    if bad_lines:
        raise errors.InvalidCodeImport(
            _("Lines %(lines)s do not hold a valid code (letters, digits, - and _)."),
            lines=", ".join(map(str, bad_lines[:5])) + ("…" if len(bad_lines) > 5 else ""),
        )
    if not codes:
        raise errors.InvalidCodeImport(_("The file holds no codes."))
    unique = set(codes)
    with transaction.atomic():
        added = _store_codes(pool, unique)
        record(
            business=business, actor=actor, action="code_pool.imported", target=pool, added=added
        )
    return ImportResult(added=added, already_in_pool=len(codes) - added)


def _store_codes(pool: CodePool, codes: Iterable[str]) -> int:
    """Insert codes into the pool, skipping those it has; returns how many were new."""
    table = PoolCode._meta.db_table
    if connection.vendor == "postgresql":
        # COPY into a scratch table, then one INSERT: a million codes in seconds.
        with connection.cursor() as cursor:
            raw = cursor.cursor
            raw.execute("CREATE TEMP TABLE new_pool_codes (code text) ON COMMIT DROP")
            with raw.copy("COPY new_pool_codes (code) FROM STDIN") as copy:
                for code in codes:
                    copy.write_row((code,))
            raw.execute(
                f"INSERT INTO {table} (business_id, pool_id, code)"  # noqa: S608
                " SELECT %s, %s, code FROM new_pool_codes"
                " ON CONFLICT (pool_id, code) DO NOTHING",
                [pool.business_id, pool.pk],
            )
            added = raw.rowcount
            raw.execute("DROP TABLE new_pool_codes")
        return added
    before = PoolCode.objects.filter(pool=pool).count()
    PoolCode.objects.bulk_create(
        (PoolCode(business_id=pool.business_id, pool=pool, code=code) for code in codes),
        batch_size=5000,
        ignore_conflicts=True,
    )
    return PoolCode.objects.filter(pool=pool).count() - before
