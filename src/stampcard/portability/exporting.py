"""Everything a business owns, as one zip: a JSON document and a CSV per table.

``business.json`` is the export proper (the one an import reads): its ``format`` and
``version``, the business, and every table's rows with their ids, foreign keys as the ids of
rows in the same document; ``pictures/…`` the programs' uploaded pictures (logo, stamp,
strip) and the vouchers' pictures under their stored names. ``csv/<table>.csv`` holds the
same rows for a spreadsheet, each cell made safe against formula injection
(``csv_safety``), so those are for people, not for import.

The archive is written row by row from server-side cursors, each table read once for both
the document and its CSV, so an export of a large business never holds its tables in memory:
into a file (``export_business``), or sent while it is being made (``export_pieces``), so a
download of a large business starts at once and keeps flowing instead of waiting minutes for
the whole file (and a proxy's read timeout).
"""

import csv
import gzip
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, time
from typing import IO, Any, cast

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils.encoding import is_protected_type
from django_scopes import scope

from stampcard.audit import services as audit
from stampcard.csv_safety import safe_row
from stampcard.loyalty.models import Program
from stampcard.portability.tables import (
    DOCUMENT,
    FORMAT,
    PICTURE_FIELDS,
    PICTURES,
    TABLES,
    VERSION,
    business_columns,
    columns,
)
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission, require_within
from stampcard.vouchers.models import VOUCHER_PICTURE_NAME, Voucher

CHUNK = 2000


class ExportEncoder(DjangoJSONEncoder):
    """Django's encoder, but times to the microsecond (it cuts them to milliseconds)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (datetime, time)):
            return o.isoformat()
        return super().default(o)


def cell(field: Field, obj: Model) -> Any:
    """The field's value as Django's own serializers write it: numbers, dates and None kept,
    anything else (phone numbers, files, …) as its string; a foreign key as the row's id."""
    value = field.value_from_object(obj)
    if is_protected_type(value) or isinstance(value, (list, dict, bool)):
        return value
    return field.value_to_string(obj)


def _rows(business: Business, model: type[Model]) -> Iterator[dict[str, Any]]:
    """The table's rows as ``cell`` writes them, read as plain values (no model instance per
    row: a large business has millions of ledger rows)."""
    fields = columns(model)
    names = [field.name for field in fields]
    rows = (
        model._default_manager.filter(business=business)
        .order_by("pk")
        .values_list(*[field.attname for field in fields])
    )
    for values in rows.iterator(chunk_size=CHUNK):
        yield {name: _plain(value) for name, value in zip(names, values, strict=True)}


def _plain(value: Any) -> Any:
    """A value read from the database as ``cell`` writes it (``Field.value_to_string`` is
    ``str`` of the value for every other kind of column the tables have)."""
    if is_protected_type(value) or isinstance(value, (list, dict, bool)):
        return value
    return str(value)


def export_business(*, business: Business, actor: Actor, target: IO[bytes]) -> None:
    """Write ``business``'s export to ``target`` (a file open for binary writing).

    Asks ``EXPORT_DATA`` for the whole business (an actor limited to some locations is
    refused) and records the export in the audit trail first: it holds every customer's
    personal data. Then reads in one repeatable-read snapshot where the database has one,
    so the document and its CSVs show the same moment even while stamps go on.
    """
    _allow_and_record(business, actor)
    for _progress in _write_archive(business, target):
        pass


def export_pieces(*, business: Business, actor: Actor) -> Iterator[bytes]:
    """``business``'s export as the pieces of the zip come out, for a streamed download.

    The permission is checked and the export audited before this returns; the pieces are
    written when iterated, inside the business's scope and one snapshot as above (a stream
    is read after the view has returned, outside the request's scope).
    """
    _allow_and_record(business, actor)
    return _pieces(business)


def _pieces(business: Business) -> Iterator[bytes]:
    pipe = _Pipe()
    with scope(business=business):
        # zipfile takes any writable binary stream; typeshed asks for IO[bytes].
        for _progress in _write_archive(business, cast(IO[bytes], pipe)):
            if piece := pipe.take():
                yield piece
    if piece := pipe.take():
        yield piece


class _Pipe(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they arrive (zipfile writes to an
    unseekable stream with data descriptors)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def take(self) -> bytes:
        piece = bytes(self.buffer)
        self.buffer.clear()
        return piece


def _allow_and_record(business: Business, actor: Actor) -> None:
    require_within(actor, Permission.EXPORT_DATA, business=business, location_ids=None)
    with transaction.atomic():
        audit.record(business=business, actor=actor, action="business.exported")


def _write_archive(business: Business, target: IO[bytes]) -> Iterator[None]:
    """Write the zip to ``target``, yielding every ``CHUNK`` rows so a reader can take what
    has been written so far.

    Each table is read once, in one pass that writes its rows both into ``business.json``
    and into its CSV. A zip takes one entry at a time, so the CSVs wait in compressed
    temporary files (``_Spool``) until the document is complete, then follow it: memory
    stays flat whatever the business's size, and the database is not asked twice.
    """
    encoder = ExportEncoder(ensure_ascii=False)
    outermost = not connection.in_atomic_block
    with (
        transaction.atomic(),
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive,
        ExitStack() as spools,
    ):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        tables: list[tuple[str, _Spool]] = []
        pictures: set[str] = set()
        with archive.open(DOCUMENT, "w", force_zip64=True) as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8")
            head = {
                "format": FORMAT,
                "version": VERSION,
                "exported_at": datetime.now(UTC).isoformat(),
                "business": {f.name: cell(f, business) for f in business_columns()},
            }
            out.write(json.dumps(head, cls=ExportEncoder, ensure_ascii=False)[:-1])
            out.write(', "tables": {')
            for index, (name, model) in enumerate(TABLES):
                spool = spools.enter_context(_Spool())
                tables.append((name, spool))
                writer = csv.writer(spool.text)
                writer.writerow([field.name for field in columns(model)])
                out.write(f'{", " if index else ""}"{name}": [')
                for number, row in enumerate(_rows(business, model)):
                    out.write((",\n" if number else "\n") + encoder.encode(row))
                    writer.writerow(safe_row(_csv_value(value) for value in row.values()))
                    pictures.update(_picture_names(model, row))
                    if number % CHUNK == CHUNK - 1:
                        yield
                out.write("]")
                spool.finish()
            out.write("}}\n")
            out.flush()
            out.detach()
        _write_pictures(pictures, archive)
        yield
        for name, spool in tables:
            with archive.open(f"csv/{name}.csv", "w", force_zip64=True) as raw:
                for piece in spool.pieces():
                    raw.write(piece)
                    yield
    yield


class _Spool:
    """A table's CSV while the document is being written: text in, gzip'd (fast, level 1)
    into an anonymous temporary file, read back in pieces once ``finish`` is called."""

    PIECE = 256 * 1024

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
        self.packed = gzip.GzipFile(fileobj=self.file, mode="wb", compresslevel=1)
        self.text = io.TextIOWrapper(cast(IO[bytes], self.packed), encoding="utf-8", newline="")

    def finish(self) -> None:
        self.text.flush()
        self.text.detach()
        self.packed.close()  # writes gzip's trailer; the file stays open
        self.file.seek(0)

    def pieces(self) -> Iterator[bytes]:
        with gzip.GzipFile(fileobj=self.file, mode="rb") as unpacked:
            while piece := unpacked.read(self.PIECE):
                yield piece

    def __enter__(self) -> "_Spool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()


def _picture_names(model: type[Model], row: dict[str, Any]) -> Iterator[str]:
    """The stored pictures a row names: a program's logo, stamp and strip; a voucher's
    picture when it is one the issuing stored (never a name from elsewhere)."""
    if model is Program:
        yield from (row[field] for field in PICTURE_FIELDS if row[field])
    elif model is Voucher and VOUCHER_PICTURE_NAME.fullmatch(row["image"] or ""):
        yield row["image"]


def _write_pictures(names: set[str], archive: zipfile.ZipFile) -> None:
    """The programs' and vouchers' stored pictures, as ``pictures/<stored name>``; a missing
    file is left out (the import then clears the name)."""
    for name in sorted(names):
        try:
            with default_storage.open(name) as file:
                data = file.read()
        except (OSError, SuspiciousFileOperation):
            continue
        archive.writestr(PICTURES + name, data, compress_type=zipfile.ZIP_STORED)


def _csv_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
