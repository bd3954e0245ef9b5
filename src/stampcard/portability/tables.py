"""What an export carries: the tables a business owns, in the order an import writes them.

What it does not carry, on purpose, and what is made again after an import:

- staff accounts and their memberships: accounts are per installation; the owner who imports
  invites the team again (rows keep their history; "who did it" is left empty);
- paired devices (kiosks, scanners, Autopilot): a device token is a secret of the
  installation that paired it; the devices are paired again with new codes;
- receipt keys and the receipts claimed with them: a receipt key is a secret shared with
  the POS; a new key is made here and entered in the POS;
- wallet registrations and Google Wallet state (they belong to the other installation's
  web service), pairing codes, return links, idempotency keys, the outbox and the audit
  trail.

Each table is a model whose rows all belong to one business; its columns are found by
introspection, so a field another change adds to one of these models is exported (and
imported) without touching this package. A model added to the domain joins by a line here.
"""

from django.db.models import Field, Model

from stampcard.loyalty.models import Card, Customer, Milestone, Program, Reward, StampEvent
from stampcard.tenancy.models import Business, Location
from stampcard.vouchers.models import (
    ClaimBatch,
    ClaimCode,
    CodePool,
    PoolCode,
    Voucher,
    VoucherTemplate,
)

FORMAT = "stampcard.business-export"
VERSION = 1
DOCUMENT = "business.json"

# Parents before children: an import maps each old id to the new one as it goes.
TABLES: tuple[tuple[str, type[Model]], ...] = (
    ("locations", Location),
    ("programs", Program),
    ("milestones", Milestone),
    ("code_pools", CodePool),
    ("voucher_templates", VoucherTemplate),
    ("customers", Customer),
    ("cards", Card),
    ("stamp_events", StampEvent),
    ("rewards", Reward),
    ("vouchers", Voucher),
    ("pool_codes", PoolCode),
    ("claim_batches", ClaimBatch),
    ("claim_codes", ClaimCode),
)
# The program's pictures travel as files in the zip, ``pictures/<stored name>``: an import
# draws each again (``uploads.clean_image``) and stores it under its own hash.
PICTURE_FIELDS = ("logo", "stamp_image", "strip_image")
PICTURES = "pictures/"
MODELS = {model: name for name, model in TABLES}

# The business row itself: what makes it the same business elsewhere (not its id).
BUSINESS_SKIPPED = ("id",)


def columns(model: type[Model]) -> list[Field]:
    """The model's stored columns, its id first; the business is the export's own."""
    return [
        field
        for field in model._meta.concrete_fields
        if not (field.is_relation and field.related_model is Business)
    ]


def business_columns() -> list[Field]:
    return [f for f in Business._meta.concrete_fields if f.name not in BUSINESS_SKIPPED]
