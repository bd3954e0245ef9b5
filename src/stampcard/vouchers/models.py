"""Vouchers, the redeem codes they carry, and one-time claim codes for stamps.

Everything here is scarce and consumed at most once; ``vouchers.services`` does every
consumption as one conditional write.
"""

import re
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from stampcard.loyalty.models import Card, Milestone, Program, Reward
from stampcard.tenancy.models import Business, Device, Location
from stampcard.vouchers.redeem_codes import POOL_CODE_PATTERN
from stampcard.vouchers.validity import Validity, ValidityRule

__all__ = ["Validity"]  # re-exported: the choices of every voucher field live in this app

# What may reach a QR code or a barcode: the admin and forms refuse anything else too.
valid_redeem_code = RegexValidator(
    POOL_CODE_PATTERN, _("A redeem code uses only letters, digits, - and _.")
)


# The only names a voucher's picture is served, rendered or exported from: one the issuing
# stored after ``uploads.clean_image`` drew it again, never another file of the installation.
VOUCHER_PICTURE_NAME = re.compile(r"vouchers/[A-Za-z0-9_-]{1,100}\.(png|jpg)")


class RedemptionMethod(models.TextChoices):
    SELF_REDEEM = "self", _("Self-Redeem by the customer")
    STAFF_SCAN = "staff_scan", _("Staff-Scan")
    REDEEM_CODE = "redeem_code", _("Redeem Code")


class CodeDisplay(models.TextChoices):
    TEXT = "text", _("Text")
    QR = "qr", _("QR code")
    CODE128 = "code128", _("Barcode (Code 128)")


class VoucherStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REDEEMED = "redeemed", _("Redeemed")
    EXPIRED = "expired", _("Expired")
    VOID = "void", _("Void")


class VoucherOrigin(models.TextChoices):
    GOAL = "goal", _("Stamp goal reached")
    LOTTERY = "lottery", _("Lottery prize")
    MANUAL = "manual", _("Issued by hand")
    BIRTHDAY = "birthday", _("Birthday gift")
    CAMPAIGN = "campaign", _("Campaign")
    WIN_BACK = "win_back", _("Win-back offer")


class CodePoolKind(models.TextChoices):
    STATIC = "static", _("One static code")
    GENERATED = "generated", _("Codes generated here")
    IMPORTED = "imported", _("Codes imported from the POS")


class CodePool(models.Model):
    """Where a voucher's redeem code comes from (Zero-Integration with the POS)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="code_pools")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(max_length=16, choices=CodePoolKind.choices)
    static_code = models.CharField(
        _("static code"), max_length=64, blank=True, validators=[valid_redeem_code]
    )
    code_length = models.PositiveSmallIntegerField(default=8)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return self.name


class PoolCode(models.Model):
    """One code of a generated or imported pool; handed to at most one voucher."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    # The unique (pool, code) index serves lookups by pool; no second index on pool alone.
    pool = models.ForeignKey(
        CodePool, on_delete=models.CASCADE, related_name="codes", db_index=False
    )
    code = models.CharField(max_length=64, validators=[valid_redeem_code])
    voucher = models.OneToOneField(
        "Voucher", on_delete=models.SET_NULL, null=True, blank=True, related_name="pool_code"
    )

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pool", "code"], name="pool_code_unique"),
        ]
        indexes = [
            models.Index(
                fields=["pool", "id"],
                condition=models.Q(voucher__isnull=True),
                name="pool_code_free",
            )
        ]

    def __str__(self) -> str:
        return self.code


class Voucher(models.Model):
    """A reward object, bound to a card or free-standing (printed and handed to anyone)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="vouchers")
    card = models.ForeignKey(
        Card, on_delete=models.SET_NULL, null=True, blank=True, related_name="vouchers"
    )
    program = models.ForeignKey(Program, on_delete=models.SET_NULL, null=True, blank=True)
    # The completed cycle this voucher is the reward of; none for a voucher issued otherwise.
    reward = models.OneToOneField(
        Reward, on_delete=models.SET_NULL, null=True, blank=True, related_name="voucher"
    )
    # The secret of the voucher page and of the QR code staff scan.
    token = models.CharField(max_length=64, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    image = models.ImageField(_("image"), upload_to="vouchers/", blank=True)
    redemption_method = models.CharField(max_length=16, choices=RedemptionMethod.choices)
    code = models.CharField(
        _("redeem code"), max_length=64, blank=True, validators=[valid_redeem_code]
    )
    code_display = models.CharField(max_length=16, choices=CodeDisplay.choices, default="qr")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=VoucherStatus.choices, default="active")
    origin = models.CharField(max_length=16, choices=VoucherOrigin.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by_kind = models.CharField(max_length=16, blank=True)
    redeemed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    redeemed_by_device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    redeemed_at_location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [
            models.Index(fields=["business", "code"]),
            # The dashboard's list: newest first, by status or not, a page after a given id.
            models.Index(fields=["business", "id"], name="voucher_business_newest"),
            models.Index(fields=["business", "status", "id"], name="voucher_business_status"),
            # The expiry job's one question, across businesses: active vouchers past their end.
            models.Index(
                fields=["valid_until", "id"],
                condition=models.Q(status="active", valid_until__isnull=False),
                name="voucher_active_until",
            ),
            # The analytics' redemptions by day: a range of one business's redeemed vouchers.
            models.Index(
                fields=["business", "redeemed_at"],
                condition=models.Q(status="redeemed"),
                name="voucher_business_redeemed",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def picture_name(self) -> str:
        """The storage name of the voucher's picture as we drew it, or "" for none."""
        name = self.image.name or ""
        return name if VOUCHER_PICTURE_NAME.fullmatch(name) else ""


class VoucherTemplate(models.Model):
    """How the vouchers a reward issues are redeemed, shown, coded and how long they last.

    One for a program's goal, or one for a milestone on the way (the reward's title and
    description are the voucher's). Without one, a reward's vouchers take the defaults below.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, null=True, blank=True, related_name="voucher_template"
    )
    milestone = models.OneToOneField(
        Milestone,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="voucher_template",
    )
    redemption_method = models.CharField(
        _("redeemed by"),
        max_length=16,
        choices=RedemptionMethod.choices,
        default=RedemptionMethod.STAFF_SCAN,
    )
    code_display = models.CharField(
        _("code shown as"), max_length=16, choices=CodeDisplay.choices, default=CodeDisplay.QR
    )
    code_pool = models.ForeignKey(
        CodePool,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("code pool"),
    )
    validity = models.CharField(
        _("valid for"), max_length=16, choices=Validity.choices, default=Validity.UNLIMITED
    )
    validity_amount = models.PositiveSmallIntegerField(
        _("number of days or months"), null=True, blank=True
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(program__isnull=False, milestone__isnull=True)
                | models.Q(program__isnull=True, milestone__isnull=False),
                name="voucher_template_of_goal_or_milestone",
            )
        ]

    def __str__(self) -> str:
        return str(self.program or self.milestone)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._take_business_of_owner()
        super().save(*args, **kwargs)

    def clean_fields(self, exclude: Any = None) -> None:
        self._take_business_of_owner()
        super().clean_fields(exclude=exclude)

    def _take_business_of_owner(self) -> None:
        if not self.business_id:  # the business of the program or milestone it belongs to
            owner = self.program if self.program_id else self.milestone
            if owner is not None:
                self.business_id = owner.business_id

    @property
    def validity_rule(self) -> ValidityRule:
        return ValidityRule(kind=self.validity, amount=self.validity_amount, until=self.valid_until)

    @property
    def validity_text(self) -> str:
        return self.validity_rule.text

    def clean(self) -> None:
        problems: dict[str, str | StrPromise] = {}
        program = self.program if self.program_id else None
        if program is None and self.milestone is not None:
            program = self.milestone.program
        pool = self.code_pool if self.code_pool_id is not None else None
        if program is not None and pool is not None and pool.business_id != program.business_id:
            problems["code_pool"] = _("Choose a code pool of this business.")
        # The same rule every voucher is issued by, so a saved setting never fails them all.
        time_zone = program.business.time_zone if program is not None else "UTC"
        found = self.validity_rule.problem(start=datetime.now(UTC), time_zone=time_zone)
        if found is not None:
            part, refusal = found
            field = {"kind": "validity", "amount": "validity_amount", "until": "valid_until"}
            problems[field[part]] = refusal.message
        if problems:
            raise ValidationError(problems)


class ClaimBatch(models.Model):
    """A printed run of one-time stamp codes (receipts, bags, delivery inserts)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="claim_batches")
    label = models.CharField(_("label"), max_length=120, blank=True)
    stamps_per_code = models.PositiveSmallIntegerField(default=1)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return self.label or f"#{self.pk}"


class ClaimCode(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    batch = models.ForeignKey(ClaimBatch, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=32)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        Card, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "code"], name="claim_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class ReceiptKey(models.Model):
    """A business's key for signing receipt codes (``vouchers.receipts``), held by its POS.

    The secret is kept as it is, not hashed: checking a receipt code means computing its
    HMAC again, which needs the secret itself (a hash only checks a secret that is presented,
    and a receipt code never carries it). It is shown to the owner once, for their POS, and
    never logged, listed or audited.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    key_id = models.CharField(max_length=8)
    secret = models.CharField(max_length=64, editable=False)
    # How many days after its issue date a version 2 code (stamps, not an amount) is claimable.
    valid_days = models.PositiveSmallIntegerField(_("days a code stays valid"), default=30)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "key_id"], name="receipt_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key_id

    def __repr__(self) -> str:  # nothing of the secret in a traceback or a log line
        return f"<ReceiptKey {self.key_id}>"


class ClaimedReceipt(models.Model):
    """A receipt code that was claimed: at most one per receipt id and business."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    key = models.ForeignKey(ReceiptKey, on_delete=models.PROTECT, related_name="claims")
    receipt_id = models.CharField(max_length=32)
    # The amount of a version 1 code; a version 2 code carries stamps instead (None here).
    amount = models.BigIntegerField(null=True, blank=True)
    card = models.ForeignKey(
        Card, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField()

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "receipt_id"], name="claimed_receipt_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.receipt_id
