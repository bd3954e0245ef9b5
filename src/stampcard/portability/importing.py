"""An export of another installation (or of this one), brought in as a new business.

``import_business`` reads only ``business.json`` of the zip that ``exporting`` made and
writes the business and every row in one transaction: a refused file leaves nothing behind.

What stays and what changes:

- every row gets a new id here; foreign keys are mapped from the old ids to the new ones;
- card codes and tokens and voucher tokens are kept, so printed cards, web card links and
  wallet passes go on working after the move; if any of them is taken here already, the
  import is refused (``CodesTaken``) rather than handing out other codes;
- who did what on another installation (staff users, paired devices) does not exist here:
  those references are left empty; the rows themselves are kept;
- the business's slug may be chosen anew (``slug=``); a slug taken here is refused;
- the programs' pictures come from the zip's ``pictures/`` and are drawn again
  (``uploads.clean_image``) and stored under their own hash; the vouchers' pictures too,
  stored under new random names as the issuing stores them; a picture name the zip does
  not carry, or that is not a picture, is cleared, never looked up in this storage;
- what an export never carries (staff, devices, receipt keys, …) is listed in
  ``portability.tables``: it is made again here, not copied.

``import_into_business`` fills a business the owner just made here (from the dashboard)
instead of creating one. The business may hold what onboarding makes and nothing more
(``onboarding_only``): its draft programs are replaced by the export's programs, and its
shops are merged with the export's by name (one shop of either side per name; the shop made
here keeps its id, so a member limited to it stays limited to it, and takes the export's
address, map point and lock-screen text where the export has them).

Hostile or broken files are refused with a sentence that says why: not a zip, no export
document, another format or a newer version, a document or archive past the size limits
(``PORTABILITY_MAX_IMPORT_BYTES``, read in bounded pieces, so a zip bomb stops at the
limit), unknown tables or columns, values that do not fit their column, rows that refer to
rows the file does not hold, duplicate ids.
"""

import hashlib
import json
import re
import zipfile
from collections.abc import Iterable
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DataError, IntegrityError, transaction
from django.db.models import Field, Model, Q
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from stampcard.audit.services import record
from stampcard.loyalty.card_codes import normalize_card_code
from stampcard.loyalty.models import Card, Milestone, Program, ProgramStatus
from stampcard.portability.errors import (
    BusinessExists,
    BusinessNotFresh,
    CodesTaken,
    ExportTooBig,
    ImportRefused,
    NewerExport,
    NotAnExport,
)
from stampcard.portability.tables import (
    DOCUMENT,
    FORMAT,
    MODELS,
    PICTURE_FIELDS,
    PICTURES,
    TABLES,
    VERSION,
    columns,
)
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.models import Business, Location
from stampcard.tenancy.permissions import Permission, require_within
from stampcard.tokens import new_secret
from stampcard.uploads import MAX_UPLOAD_BYTES, UnsafeImage, clean_image
from stampcard.vouchers.models import Voucher, VoucherTemplate

BATCH = 1000
# What an import into a business made here takes from the export: not its name or address.
_SETTINGS = ("time_zone", "country", "currency", "default_language", "brand_color")
_FOLDERS = {"logo": "logos", "stamp_image": "stamps", "strip_image": "strips"}
_PICTURE_NAME = re.compile(
    r"pictures/(logos|stamps|strips|vouchers)/[0-9A-Za-z_-]{1,100}\.(png|jpg)"
)
# The files a zip may list: the document, a CSV per table, and the pictures (a voucher each
# at most); the central directory is read whole, so it is bounded.
MAX_ENTRIES = 100_000
# What ``tokens.new_secret`` makes (the customer door accepts no other).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,100}")
# Rows whose own checks (beyond each field's) run on import: the same as in their forms.
_CLEANED = (Program, Milestone, Location)
# What onboarding makes (besides the business and its owner): an import may go over these.
# (A voucher template is always a program's or a milestone's, so it goes with the drafts.)
_ONBOARDING = (Location, Program, Milestone, VoucherTemplate)


def _limit() -> int:
    return int(getattr(settings, "PORTABILITY_MAX_IMPORT_BYTES", 1024 * 1024 * 1024))


def read_export(source: IO[bytes]) -> dict[str, Any]:
    """The export document of the zip ``source``, checked for shape, size and version."""
    return read_archive(source)[0]


def read_archive(source: IO[bytes]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The export document of the zip ``source`` (checked for shape, size and version) and
    the pictures it carries, by stored name, each read no further than an upload may be."""
    limit = _limit()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise NotAnExport() from error
    pictures: dict[str, bytes] = {}
    with archive:
        try:
            info = archive.getinfo(DOCUMENT)
        except KeyError as error:
            raise NotAnExport() from error
        if info.file_size > limit or len(archive.infolist()) > MAX_ENTRIES:
            raise ExportTooBig()
        try:
            with archive.open(info) as member:
                # The declared size may lie: read at most one byte past the limit.
                data = member.read(limit + 1)
            # Pictures and document together stay under the limit however many there are.
            room = limit - len(data)
            for entry in archive.infolist():
                if not _PICTURE_NAME.fullmatch(entry.filename):
                    continue
                with archive.open(entry) as member:
                    picture = member.read(min(MAX_UPLOAD_BYTES, max(room, 0)) + 1)
                room -= len(picture)
                if room < 0:
                    raise ExportTooBig()
                if len(picture) <= MAX_UPLOAD_BYTES:
                    pictures[entry.filename.removeprefix(PICTURES)] = picture
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
            raise NotAnExport() from e
    if len(data) > limit:
        raise ExportTooBig()
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise NotAnExport() from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise NotAnExport()
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise NotAnExport()
    if version > VERSION:
        raise NewerExport()
    if not isinstance(document.get("business"), dict) or not isinstance(
        document.get("tables"), dict
    ):
        raise NotAnExport()
    unknown = set(document["tables"]) - {name for name, _model in TABLES}
    if unknown:
        raise ImportRefused(
            _("This export holds tables this installation does not know: %(names)s."),
            names=", ".join(sorted(map(str, unknown)))[:200],
        )
    return document, pictures


def import_business(
    *, source: IO[bytes], slug: str | None = None, name: str | None = None
) -> Business:
    """Create the business of the export ``source`` with all its rows, in one transaction.

    Refuses (``ImportRefused`` and its kinds) without writing anything; see the module's
    docstring for what is kept and what is mapped.
    """
    document, pictures = read_archive(source)
    with scopes_disabled(), transaction.atomic():
        business = _create_business(document["business"], slug=slug, name=name)
        _import_tables(business, document, pictures)
    return business


def import_into_business(*, business: Business, actor: Actor, source: IO[bytes]) -> Business:
    """Fill ``business``, holding only what onboarding made, with the export ``source``, in
    one transaction.

    The owner made the business here (its name and address stay); its settings (time zone,
    country, currency, language, colour) and every row come from the export. Its draft
    programs (with their milestones and goal-voucher settings) are deleted and the export's
    programs take their place; its shops are merged with the export's by name (module
    docstring). Asks MANAGE_BUSINESS for the whole business; locks the business row and
    refuses (``BusinessNotFresh``) one that holds more than onboarding makes (a live or
    archived program, a customer, a card, a voucher, a code pool, …), so an import never
    mixes with live data. Other refusals as ``import_business``; nothing is written then.
    Recorded in the audit trail with the numbers of drafts replaced and shops merged.
    """
    require_within(actor, Permission.MANAGE_BUSINESS, business=business, location_ids=None)
    document, pictures = read_archive(source)
    with scopes_disabled(), transaction.atomic():
        locked = Business.objects.select_for_update().get(pk=business.pk)
        if not onboarding_only(locked):
            raise BusinessNotFresh()
        _count, deleted = Program.objects.filter(business=locked).delete()
        shops: dict[str, Location] = {}
        for shop in Location.objects.filter(business=locked).order_by("pk"):
            shops.setdefault(_shop_key(shop.name), shop)
        _take_settings(locked, document["business"])
        merged = _import_tables(locked, document, pictures, shops=shops)
        record(
            business=locked,
            actor=actor,
            action="business.imported",
            drafts_replaced=deleted.get(Program._meta.label, 0),
            shops_merged=merged,
        )
    return locked


def onboarding_only(business: Business) -> bool:
    """Whether ``business`` holds no more than onboarding makes: shops, and draft programs
    with their milestones and goal-voucher settings (an import may then fill it)."""
    with scopes_disabled():
        if Program.objects.filter(business=business).exclude(status=ProgramStatus.DRAFT).exists():
            return False
        return not any(
            model._default_manager.filter(business=business).exists()
            for _t, model in TABLES
            if model not in _ONBOARDING
        )


def _shop_key(name: str) -> str:
    """Two shops are the same shop when their names are, ignoring case and outer spaces."""
    return " ".join(name.split()).casefold()


def _import_tables(
    business: Business,
    document: dict[str, Any],
    pictures: dict[str, bytes],
    *,
    shops: dict[str, Location] | None = None,
) -> int:
    """Write every table of ``document``. ``shops`` are the business's own shops by
    ``_shop_key``: an export's shop of the same name is merged into one of them instead of
    being added. Returns how many were merged."""
    ids: dict[type[Model], dict[int, int]] = {}
    unmerged = dict(shops or {})
    try:
        for table, model in TABLES:
            rows = document["tables"].get(table, [])
            if not isinstance(rows, list):
                raise _bad(table, None, _("it is not a list of rows"))
            merge = unmerged if model is Location else None
            ids[model] = _import_table(business, table, model, rows, ids, merge=merge)
    except (IntegrityError, DataError) as error:
        raise ImportRefused(
            _("The rows of this export contradict each other (%(problem)s)."),
            problem=str(error).splitlines()[0][:200],
        ) from error
    _store_pictures(business, pictures)
    _store_voucher_pictures(business, pictures)
    return len(shops or {}) - len(unmerged)


def _store_pictures(business: Business, pictures: dict[str, bytes]) -> None:
    """Each program picture the export carries, drawn again and stored under its own hash; a
    picture the export lacks or that is not a picture is left out (the name cleared)."""
    stored: dict[str, str] = {}
    for program in Program.objects.filter(business=business):
        changed = []
        for field in PICTURE_FIELDS:
            name = getattr(program, field).name
            if not name:
                continue
            if name not in stored:
                stored[name] = _stored_picture(field, pictures.get(name))
            getattr(program, field).name = stored[name]
            changed.append(field)
        if changed:
            # Not ``save``: a first version has no passes to tell yet.
            Program.objects.filter(pk=program.pk).update(
                **{field: getattr(program, field).name for field in changed}
            )


def _store_voucher_pictures(business: Business, pictures: dict[str, bytes]) -> None:
    """Each voucher's picture the export carries, drawn again and stored under a new random
    name (as ``issue_voucher`` stores one); a name without its file in the zip, or whose file
    is not a picture, is cleared: the import never points a voucher at a file already here."""
    stored: dict[str, str] = {}
    named = Voucher.objects.filter(business=business).exclude(image="")
    for voucher_id, name in named.values_list("pk", "image").iterator(chunk_size=BATCH):
        if name not in stored:
            stored[name] = _stored_voucher_picture(pictures.get(name))
        Voucher.objects.filter(pk=voucher_id).update(image=stored[name])


def _stored_voucher_picture(data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        image = clean_image(data)
    except UnsafeImage:
        return ""
    return str(
        default_storage.save(
            f"vouchers/{new_secret(12)}.{image.extension}", ContentFile(image.data)
        )
    )


def _stored_picture(field: str, data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        image = clean_image(data)
    except UnsafeImage:
        return ""
    folder = _FOLDERS[field]
    name = f"{folder}/{hashlib.sha256(image.data).hexdigest()}.{image.extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(image.data))
    return str(name)


def _take_settings(business: Business, values: dict[str, Any]) -> None:
    known = {f.name for f in Business._meta.concrete_fields}
    unknown = set(values) - known
    if unknown:
        raise _bad("business", None, _("unknown columns %(names)s") % {"names": _names(unknown)})
    for field_name in _SETTINGS:
        if field_name in values:
            setattr(business, field_name, values[field_name])
    try:
        business.full_clean(validate_unique=False)
    except ValidationError as error:
        raise _bad("business", None, _messages(error)) from error
    except (TypeError, ValueError, AttributeError) as error:
        raise _bad("business", None, _("a value does not fit its column")) from error
    business.save(update_fields=[f for f in _SETTINGS if f in values] or None)


def _create_business(values: dict[str, Any], *, slug: str | None, name: str | None) -> Business:
    known = {f.name for f in Business._meta.concrete_fields}
    unknown = set(values) - known
    if unknown:
        raise _bad("business", None, _("unknown columns %(names)s") % {"names": _names(unknown)})
    business = Business()
    for field_name, value in values.items():
        if field_name in ("id", "created_at"):
            continue
        setattr(business, field_name, value)
    if slug:
        business.slug = slug
    if name:
        business.name = name
    try:
        business.full_clean(validate_unique=False)
    except ValidationError as error:
        raise _bad("business", None, _messages(error)) from error
    except (TypeError, ValueError, AttributeError) as error:
        raise _bad("business", None, _("a value does not fit its column")) from error
    if Business.objects.filter(slug=business.slug).exists():
        raise BusinessExists()
    try:
        with transaction.atomic():
            business.save()
    except IntegrityError as error:  # the same slug, just taken in parallel
        raise BusinessExists() from error
    if isinstance(values.get("created_at"), str):
        try:
            created = Business._meta.get_field("created_at").to_python(values["created_at"])
        except ValidationError as error:
            raise _bad("business", None, _messages(error)) from error
        Business.objects.filter(pk=business.pk).update(created_at=created)
        business.created_at = created
    return business


def _import_table(
    business: Business,
    table: str,
    model: type[Model],
    rows: list[Any],
    ids: dict[type[Model], dict[int, int]],
    *,
    merge: dict[str, Location] | None = None,
) -> dict[int, int]:
    """Write ``rows`` in batches; a row of a shop named as one in ``merge`` goes into that
    shop instead (which then leaves ``merge``). Returns the new id of each old one."""
    fields = {field.name: field for field in columns(model)}
    mapped: dict[int, int] = {}
    for start in range(0, len(rows), BATCH):
        batch: list[Model] = []
        old_ids: list[int] = []
        kept: list[dict[str, Any]] = []
        for number, row in enumerate(rows[start : start + BATCH], start=start + 1):
            try:
                obj, old_id, times = _build(business, table, model, fields, row, number, ids)
            except (TypeError, ValueError, AttributeError, OverflowError) as error:
                # A value of a type its column cannot read (Django's parsers raise these).
                raise _bad(table, number, _("a value does not fit its column")) from error
            if old_id in mapped or old_id in old_ids:
                raise _bad(table, number, _("the id %(id)s appears twice") % {"id": old_id})
            if merge and isinstance(obj, Location):
                shop = merge.pop(_shop_key(obj.name), None)
                if shop is not None:
                    mapped[old_id] = _merge_shop(shop, obj, row, table, number)
                    continue
            batch.append(obj)
            old_ids.append(old_id)
            kept.append(times)
        _check_codes(table, start, model, batch)
        created = model._default_manager.bulk_create(batch)
        for old_id, obj in zip(old_ids, created, strict=True):
            mapped[old_id] = obj.pk
        _restore_times(model, created, kept)
    return mapped


def _merge_shop(shop: Location, obj: Location, row: dict[str, Any], table: str, number: int) -> int:
    """``shop`` (made here) takes what the export's ``obj`` says of it beyond its name, where
    the export says something; checked as the Shops form checks it. Returns its id."""
    changed = {}
    for field in columns(Location):
        if field.name in ("id", "name") or field.name not in row:
            continue
        value = getattr(obj, field.attname)
        if value not in (None, ""):
            changed[field.attname] = value
            setattr(shop, field.attname, value)
    try:
        shop.full_clean(exclude=["business"])
    except ValidationError as error:
        raise _bad(table, number, _messages(error)) from error
    if changed:
        # Not ``save``: the passes that list it are the export's, not yet issued here.
        Location.objects.filter(pk=shop.pk).update(**changed)
    return shop.pk


def _build(
    business: Business,
    table: str,
    model: type[Model],
    fields: dict[str, Field],
    row: Any,
    number: int,
    ids: dict[type[Model], dict[int, int]],
) -> tuple[Model, int, dict[str, Any]]:
    if not isinstance(row, dict):
        raise _bad(table, number, _("it is not a row"))
    unknown = set(row) - set(fields)
    if unknown:
        raise _bad(table, number, _("unknown columns %(names)s") % {"names": _names(unknown)})
    old_id = row.get("id")
    if not isinstance(old_id, int) or isinstance(old_id, bool):
        raise _bad(table, number, _("it has no id"))
    values: dict[str, Any] = {"business": business}
    relations: list[str] = []
    for field_name, value in row.items():
        field = fields[field_name]
        if field_name == "id":
            continue
        if field.is_relation:
            relations.append(field_name)
            values[field.attname] = _related(table, number, field, value, ids)
        else:
            values[field.attname] = value
    obj = model(**values)
    try:
        obj.clean_fields(exclude=[*relations, "business"])
        if isinstance(obj, _CLEANED):
            obj.clean()
    except ValidationError as error:
        raise _bad(table, number, _messages(error)) from error
    # Times the database would set to "now" on insert are put back afterwards.
    times = {
        name: getattr(obj, name)
        for name, field in fields.items()
        if name in row
        and (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
    }
    return obj, old_id, times


def _related(
    table: str,
    number: int,
    field: Field,
    value: Any,
    ids: dict[type[Model], dict[int, int]],
) -> int | None:
    """The new id of the row ``value`` named in the export; None for what does not move."""
    if value is None:
        return None
    target = field.related_model
    if target not in MODELS:
        return None  # a user or a device of the other installation
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(table, number, _("%(column)s is not an id") % {"column": field.name})
    new = ids.get(target, {}).get(value)
    if new is None:
        raise _bad(
            table,
            number,
            _("%(column)s refers to a row the export does not hold") % {"column": field.name},
        )
    return new


def _check_codes(table: str, start: int, model: type[Model], batch: list[Model]) -> None:
    """Card codes and tokens and voucher tokens stay as they were: each must be one this
    installation would make (a card code with its check symbol, a long random token), and
    none may be taken here already."""
    if model not in (Card, Voucher):
        return
    for number, obj in enumerate(batch, start=start + 1):
        token = getattr(obj, "token", "")
        code = getattr(obj, "code", None) if model is Card else None
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise _bad(table, number, _("its token is not one this installation would make"))
        if code is not None and normalize_card_code(code) != code:
            raise _bad(table, number, _("its card code is not one this installation would make"))
    tokens = [obj.token for obj in batch]  # type: ignore[attr-defined]
    if model is Card:
        codes = [obj.code for obj in batch]  # type: ignore[attr-defined]
        if Card.objects.filter(Q(code__in=codes) | Q(token__in=tokens)).exists():
            raise CodesTaken()
    elif Voucher.objects.filter(token__in=tokens).exists():
        raise CodesTaken()


def _restore_times(model: type[Model], created: list[Model], kept: list[dict[str, Any]]) -> None:
    """Put back the times the rows had (``auto_now`` fields take "now" on insert)."""
    names = sorted({name for times in kept for name in times})
    if not names:
        return
    for obj, times in zip(created, kept, strict=True):
        for name, value in times.items():
            setattr(obj, name, value)
    model._default_manager.bulk_update(created, names)


def _bad(table: str, row: int | None, problem: Any) -> ImportRefused:
    if row is None:
        return ImportRefused(
            _("The export's %(table)s cannot be imported: %(problem)s."),
            table=table,
            problem=problem,
        )
    return ImportRefused(
        _("Row %(row)s of the export's %(table)s cannot be imported: %(problem)s."),
        table=table,
        row=row,
        problem=problem,
    )


def _names(names: Iterable[object]) -> str:
    return ", ".join(sorted(str(name) for name in names))[:200]


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(str(m) for m in messages)}"
            for field, messages in error.message_dict.items()
        )[:300]
    return " ".join(error.messages)[:300]
