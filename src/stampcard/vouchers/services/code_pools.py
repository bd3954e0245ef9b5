"""Code pools: where vouchers' redeem codes come from (Zero-Integration with the POS)."""

import csv
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from stampcard.audit.services import record
from stampcard.csv_safety import exact_cell, unquoted
from stampcard.storable import UNSTORABLE_TEXT, is_storable
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require
from stampcard.vouchers import errors
from stampcard.vouchers.models import CodePool, CodePoolKind, PoolCode
from stampcard.vouchers.redeem_codes import POOL_CODE_PATTERN, UNAMBIGUOUS_ALPHABET
from stampcard.vouchers.services.issuing import issue_waiting_vouchers

StrOrPromise = str | Promise

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_CODES_PER_CALL = 2_000_000
# How many wrong lines a refused import names, each with what it held and why.
MAX_BAD_LINES_NAMED = 20


def create_code_pool(
    *,
    business: Business,
    actor: Actor,
    name: str,
    kind: CodePoolKind,
    static_code: str = "",
    code_length: int = 8,
) -> CodePool:
    """A new pool. A static pool needs its code; generated codes are 6 to 32 symbols.

    Needs MANAGE_CODES, as generating and importing do.
    """
    require(actor, Permission.MANAGE_CODES, business=business)
    if not is_storable(name, static_code):
        raise errors.InvalidVoucher(UNSTORABLE_TEXT)
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


def has_free_codes(pool: CodePool) -> bool:
    """Whether the next voucher can take a code: a static pool always can, others while a
    code is left that no voucher holds."""
    if pool.kind == CodePoolKind.STATIC:
        return bool(pool.static_code)
    return PoolCode.objects.filter(pool=pool, voucher__isnull=True).exists()


def _pool_of(business: Business, pool: CodePool, kind: CodePoolKind) -> CodePool | None:
    """``pool`` as this business has it, if it is of ``kind``; None for any other pool.

    The door's scope makes a pool the caller fetched this business's; querying by the
    business keeps a foreign one out whoever calls.
    """
    return CodePool.objects.filter(business=business, pk=pool.pk, kind=kind).first()


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
    with codes it already holds. All or nothing: one transaction, which also issues the
    vouchers of rewards that waited for the pool (``issue_waiting_vouchers``).
    """
    require(actor, Permission.MANAGE_CODES, business=business)
    own = _pool_of(business, pool, CodePoolKind.GENERATED)
    if own is None:
        raise errors.InvalidVoucher(_("Codes can only be generated into a generated pool."))
    pool = own
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
        issue_waiting_vouchers(business=business, pool=pool)
    return added


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    already_in_pool: int


def import_codes(
    *, business: Business, actor: Actor, pool: CodePool, csv_text: str | bytes
) -> ImportResult:
    """Import codes created in the POS (CSV: a ``code`` column, or the first column).

    ``csv_text`` is the file as uploaded (UTF-8 bytes, with or without a byte order mark) or
    already decoded. A quote before a code starting with -, +, = or @ is taken off
    (``csv_safety.unquoted``): spreadsheets and earlier downloads put it there; the code
    left is then checked like any other, so a formula is refused, never stored.

    All or nothing: any invalid code refuses the whole file, naming the first bad lines
    (``bad_lines``: each line's number, what it held and why). Codes already in
    the pool, or repeated in the file, are counted and skipped, so importing the same file
    twice adds nothing the second time. Rewards that waited for the pool get their vouchers
    in the same transaction (``issue_waiting_vouchers``).
    """
    require(actor, Permission.MANAGE_CODES, business=business)
    own = _pool_of(business, pool, CodePoolKind.IMPORTED)
    if own is None:
        raise errors.InvalidCodeImport(_("Codes can only be imported into an import pool."))
    pool = own
    text = _decoded(csv_text)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        raise errors.InvalidCodeImport(_("The file is not a readable CSV file.")) from None
    column = 0
    codes: list[str] = []
    bad_lines: list[errors.BadLine] = []
    for line, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if line == 1 and any(cell.strip().lower() == "code" for cell in row):
            column = [cell.strip().lower() for cell in row].index("code")
            continue
        # "'-5OFF" is the code -5OFF as an earlier download, or a spreadsheet, wrote it.
        value = unquoted(row[column].strip()) if column < len(row) else ""
        if POOL_CODE_PATTERN.match(value):
            codes.append(value)
        else:
            bad_lines.append(errors.BadLine(line, value[:40], _code_problem(value)))
    if bad_lines:
        raise errors.InvalidCodeImport(
            _("Lines %(lines)s do not hold a valid code (letters, digits, - and _)."),
            bad_lines=bad_lines[:MAX_BAD_LINES_NAMED],
            lines=", ".join(str(bad.line) for bad in bad_lines[:5])
            + ("…" if len(bad_lines) > 5 else ""),
        )
    if not codes:
        raise errors.InvalidCodeImport(_("The file holds no codes."))
    unique = dict.fromkeys(codes)  # in the file's order, which the pool hands them out in
    with transaction.atomic():
        added = _store_codes(pool, unique)
        record(
            business=business, actor=actor, action="code_pool.imported", target=pool, added=added
        )
        issue_waiting_vouchers(business=business, pool=pool)
    return ImportResult(added=added, already_in_pool=len(codes) - added)


def unused_codes_csv(*, business: Business, actor: Actor, pool: CodePool) -> str:
    """The pool's codes no voucher holds yet, as CSV for the POS (a ``code`` column).

    A static pool's one code is its only row. Each code is written exactly as the POS must
    accept it, "-5OFF" too: a code's alphabet (letters, digits, - and _) can make no formula
    that runs anything (``csv_safety.exact_cell``), so no quote is put before it, which the
    POS would take as part of the code. Needs MANAGE_CODES; audited, as the codes are worth
    a reward each.
    """
    require(actor, Permission.MANAGE_CODES, business=business)
    own = CodePool.objects.filter(business=business, pk=pool.pk).first()
    if own is None:
        raise errors.VoucherNotFound()
    if own.kind == CodePoolKind.STATIC:
        codes: Iterable[str] = [own.static_code]
    else:
        codes = (
            PoolCode.objects.filter(pool=own, voucher__isnull=True)
            .order_by("id")
            .values_list("code", flat=True)
            .iterator(chunk_size=10_000)
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code"])
    count = 0
    for code in codes:
        writer.writerow([exact_cell(code)])
        count += 1
    record(business=business, actor=actor, action="code_pool.downloaded", target=own, count=count)
    return out.getvalue()


def _code_problem(value: str) -> StrOrPromise:
    """Why ``value`` is not a redeem code, in words an owner can act on."""
    if not value:
        return _("no code in this line")
    if len(value) > 64:
        return _("longer than 64 characters")
    if any(character.isspace() for character in value):
        return _("a code cannot hold spaces")
    return _("only letters, digits, - and _ may be used")


def _decoded(upload: str | bytes) -> str:
    """The file's text, or a clear refusal for one too large or not UTF-8 text."""
    if len(upload) > MAX_IMPORT_BYTES:  # characters or bytes; checked again as bytes below
        raise errors.InvalidCodeImport(_("The file is larger than 20 MB."))
    if isinstance(upload, str):
        if not is_storable(upload.replace("\x00", "")):  # a NUL is a bad line, named below
            raise errors.InvalidCodeImport(_("The file is not UTF-8 text."))
        upload = upload.encode()
    if len(upload) > MAX_IMPORT_BYTES:
        raise errors.InvalidCodeImport(_("The file is larger than 20 MB."))
    try:
        return upload.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.InvalidCodeImport(_("The file is not UTF-8 text.")) from None


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
