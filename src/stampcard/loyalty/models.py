"""Programs, customers, cards and the stamp ledger.

The ledger (``StampEvent``) is append-only; a card's counters are a cache of it and are only
ever written by ``loyalty.services``, in the same transaction as the ledger row.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_scopes import ScopedManager
from phonenumber_field.modelfields import PhoneNumberField

from stampcard.loyalty.amounts import Rounding, amount_settings_problems
from stampcard.loyalty.card_codes import format_card_code
from stampcard.tenancy.actors import ActorKind
from stampcard.tenancy.models import Business, Device, Location

hex_color = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f2937."))


class StampSource(models.TextChoices):
    STAFF = "staff", _("Staff scanner")
    KIOSK = "kiosk", _("Kiosk")
    AUTOPILOT = "autopilot", _("Autopilot")
    RECEIPT = "receipt", _("Receipt code")
    API = "api", _("API")
    ADMIN = "admin", _("Dashboard")


def all_stamp_sources() -> list[str]:
    return [source.value for source in StampSource]


class StampRule(models.TextChoices):
    PER_VISIT = "visit", _("One stamp per visit")
    PER_AMOUNT = "amount", _("Stamps by the amount spent")


class CardBarcode(models.TextChoices):
    """The barcode a card's wallet pass shows the counter."""

    QR = "qr", _("QR code")
    # Apple Watch shows no Code 128: the pass carries a QR code after it.
    CODE128 = "code128", _("Code 128 (a QR code on Apple Watch)")


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ARCHIVED = "archived", _("Archived")


class RewardKind(models.TextChoices):
    SIMPLE = "simple", _("Reward ready")
    SMART_VOUCHER = "smart_voucher", _("Smart Voucher")
    LOTTERY = "lottery", _("Lottery")


class JoinField(models.TextChoices):
    """Whether the join page asks for one piece of a customer's details."""

    OFF = "off", _("Not asked")
    OPTIONAL = "optional", _("Optional")
    REQUIRED = "required", _("Required")


class Program(models.Model):
    """A stamp card design and its rules."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="programs")
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(
        max_length=16, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT
    )
    stamps_goal = models.PositiveSmallIntegerField(
        _("stamps to the goal"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    reward_kind = models.CharField(max_length=16, choices=RewardKind.choices, default="simple")
    reward_title = models.CharField(_("reward"), max_length=120)
    reward_description = models.TextField(_("reward description"), blank=True)

    # How a visit earns stamps: one (or as many as staff give), or by the amount spent: one
    # stamp per ``amount_per_stamp`` in the business's currency (minor units), rounded as
    # ``amount_rounding`` says, nothing below ``minimum_spend``. See loyalty.amounts.
    stamp_rule = models.CharField(
        _("stamps are earned"), max_length=8, choices=StampRule.choices, default=StampRule.PER_VISIT
    )
    amount_per_stamp = models.PositiveBigIntegerField(
        _("amount per stamp (minor units)"), null=True, blank=True
    )
    amount_rounding = models.CharField(
        _("rounding"), max_length=8, choices=Rounding.choices, default=Rounding.DOWN
    )
    minimum_spend = models.PositiveBigIntegerField(
        _("minimum spend (minor units)"), null=True, blank=True
    )
    allowed_sources = models.JSONField(_("stamp workflows allowed"), default=all_stamp_sources)
    cooldown_seconds = models.PositiveIntegerField(_("cooldown per card (seconds)"), default=0)
    max_stamps_per_visit = models.PositiveSmallIntegerField(
        _("most stamps per visit"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    max_stamps_per_day = models.PositiveSmallIntegerField(
        _("most stamps per day"), null=True, blank=True, validators=[MaxValueValidator(1000)]
    )

    background_color = models.CharField(max_length=7, default="#1f2937", validators=[hex_color])
    foreground_color = models.CharField(max_length=7, default="#ffffff", validators=[hex_color])
    label_color = models.CharField(max_length=7, default="#d1d5db", validators=[hex_color])
    stamp_icon = models.CharField(max_length=32, default="cup")
    card_barcode = models.CharField(
        _("barcode on the pass"),
        max_length=16,
        choices=CardBarcode.choices,
        default=CardBarcode.QR,
        help_text=_("Code 128 suits a till's laser scanner; a camera reads either."),
    )
    # The business's logo as ``uploads.clean_image`` drew it again, stored under its content
    # hash (``logos/<sha256>.png``): never the uploaded bytes. Empty: the pass draws a stamp.
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True, max_length=200)
    # The owner's own stamp (drawn instead of ``stamp_icon``) and a picture behind the stamp
    # grid, both redrawn by ``uploads.clean_image`` and stored under their content hash like
    # the logo (``stamps/…``, ``strips/…``). Empty: the built-in icon, the plain colour.
    stamp_image = models.ImageField(
        _("stamp picture"), upload_to="stamps/", blank=True, max_length=200
    )
    strip_image = models.ImageField(
        _("strip picture"), upload_to="strips/", blank=True, max_length=200
    )
    terms = models.TextField(_("terms"), blank=True)

    # What the join page asks for (JoinField): each off, optional or required. Marketing
    # consent is never a condition of joining, so it is off or optional (``clean``).
    join_name = models.CharField(
        _("name on joining"), max_length=8, choices=JoinField.choices, default=JoinField.OPTIONAL
    )
    join_email = models.CharField(
        _("email on joining"), max_length=8, choices=JoinField.choices, default=JoinField.OPTIONAL
    )
    join_phone = models.CharField(
        _("phone on joining"), max_length=8, choices=JoinField.choices, default=JoinField.OFF
    )
    join_birthday = models.CharField(
        _("birthday on joining"), max_length=8, choices=JoinField.choices, default=JoinField.OFF
    )
    join_marketing_consent = models.CharField(
        _("marketing consent on joining"),
        max_length=8,
        choices=JoinField.choices,
        default=JoinField.OPTIONAL,
    )

    # The texts customers read, in the business's other languages:
    # {"th": {"name": "…", "reward_title": "…", "reward_description": "…", "terms": "…"}}.
    # ``name``, ``reward_title``… above are the default language's; read a text for a
    # customer with ``text_in``, which falls back to them.
    translations = models.JSONField(_("translations"), default=dict, blank=True)
    # Goes up with every change of what the card shows (DESIGN_FIELDS), so rendered images
    # and passes can be cached per version; ``save`` moves it.
    design_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stamps_goal__gte=1), name="program_goal_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(max_stamps_per_visit__gte=1), name="program_visit_max_positive"
            ),
        ]

    # What the wallet pass, the web card and their images show: a change to any is a new design.
    DESIGN_FIELDS = (
        "name",
        "stamps_goal",
        "reward_title",
        "reward_description",
        "background_color",
        "foreground_color",
        "label_color",
        "stamp_icon",
        "card_barcode",
        "stamp_image",
        "strip_image",
        "logo",
        "terms",
        "translations",
    )
    # The texts a business may give in each of its languages (``translations``).
    TRANSLATED_FIELDS = ("name", "reward_title", "reward_description", "terms")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, moving ``design_version`` on when a design field changed from the stored row."""
        update_fields = kwargs.get("update_fields")
        saves_design = update_fields is None or bool(set(update_fields) & set(self.DESIGN_FIELDS))
        if self.pk is not None and not self._state.adding and saves_design:
            stored = type(self)._base_manager.filter(pk=self.pk).values(*self.DESIGN_FIELDS).first()
            if stored is not None and any(
                stored[field] != getattr(self, field) for field in self.DESIGN_FIELDS
            ):
                # Counted in the database, so two parallel edits make two versions.
                self.design_version = models.F("design_version") + 1
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "design_version"}
                with transaction.atomic():
                    super().save(*args, **kwargs)
                    self.refresh_from_db(fields=["design_version"])
                    passes_of_program_changed(self)
                return
        super().save(*args, **kwargs)

    def clean(self) -> None:
        problems: dict[str, str | StrPromise] = {}
        sources = self.allowed_sources
        if not isinstance(sources, list) or not sources or not set(sources) <= set(StampSource):
            problems["allowed_sources"] = _("Choose at least one way to collect stamps.")
        if self.max_stamps_per_day is not None and self.max_stamps_per_day < (
            self.max_stamps_per_visit or 1
        ):
            problems["max_stamps_per_day"] = _("A day allows at least as many stamps as one visit.")
        if self.stamp_rule == StampRule.PER_AMOUNT:
            if self.amount_per_stamp is None:
                problems["amount_per_stamp"] = _("Say how much a stamp costs.")
            else:
                problems.update(
                    (field, error.messages[0])
                    for field, error in amount_settings_problems(
                        self.amount_per_stamp, self.minimum_spend, self.business.currency
                    ).items()
                )
        if self.join_marketing_consent == JoinField.REQUIRED:
            problems["join_marketing_consent"] = _(
                "Agreeing to marketing messages cannot be a condition of joining."
            )
        if (
            self.pk is not None
            and self.stamps_goal is not None
            and Milestone.objects.filter(program=self, stamps__gte=self.stamps_goal).exists()
        ):
            problems["stamps_goal"] = _("The goal comes after every milestone of the card.")
        if problems:
            raise ValidationError(problems)

    def text_in(self, field: str, language: str | None) -> str:
        """``field`` (one of TRANSLATED_FIELDS) in ``language``, else the default language's."""
        if field not in self.TRANSLATED_FIELDS:
            raise ValueError(field)
        return translated_text(self.translations, field, language, getattr(self, field))

    def texts_in(self, language: str | None) -> dict[str, str]:
        """Every text of TRANSLATED_FIELDS in ``language``, by field (``text_in``)."""
        return {field: self.text_in(field, language) for field in self.TRANSLATED_FIELDS}


def translated_text(translations: Any, field: str, language: str | None, default: str) -> str:
    """``field`` of ``translations`` ({"th": {field: "…"}}) in ``language``, else ``default``
    (the default language's). A missing, empty or malformed text falls back."""
    texts = translations.get(language or "", {}) if isinstance(translations, dict) else {}
    value = texts.get(field) if isinstance(texts, dict) else None
    return value if isinstance(value, str) and value.strip() else default


MAX_MILESTONES = 5


def passes_of_program_changed(program: Program) -> None:
    """The wallet passes of the program's cards are to be refreshed (wallet.changes)."""
    from stampcard.wallet.changes import program_changed  # the wallet app builds on this one

    program_changed(program)


class Milestone(models.Model):
    """A reward on the way to the program's goal, earned once per cycle at ``stamps``.

    The goal itself is the program's own reward (``Program.stamps_goal`` and ``reward_*``):
    reaching it closes the cycle. A coffee card with a free cookie at 5 and a free coffee at
    10 is a program with goal 10 and one milestone at 5.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="milestones")
    stamps = models.PositiveSmallIntegerField(
        _("stamps"), validators=[MinValueValidator(1), MaxValueValidator(49)]
    )
    reward_kind = models.CharField(max_length=16, choices=RewardKind.choices, default="simple")
    reward_title = models.CharField(_("reward"), max_length=120)
    reward_description = models.TextField(_("reward description"), blank=True)
    # The reward's texts in the business's other languages, as ``Program.translations``:
    # {"th": {"reward_title": "…", "reward_description": "…"}}. The fields above are the
    # default language's; read one for a customer with ``text_in``, which falls back to them.
    translations = models.JSONField(_("translations"), default=dict, blank=True)

    objects = ScopedManager(business="business")

    # The texts a business may give in each of its languages (``translations``).
    TRANSLATED_FIELDS = ("reward_title", "reward_description")

    class Meta:
        ordering = ["stamps"]
        constraints = [
            models.UniqueConstraint(fields=["program", "stamps"], name="one_milestone_per_count"),
            models.CheckConstraint(condition=models.Q(stamps__gte=1), name="milestone_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.stamps}: {self.reward_title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.business_id and self.program_id:
            self.business_id = self.program.business_id  # the program's, always
        super().save(*args, **kwargs)
        self._program_design_changed()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        deleted = super().delete(*args, **kwargs)
        self._program_design_changed()
        return deleted

    def text_in(self, field: str, language: str | None) -> str:
        """``field`` (one of TRANSLATED_FIELDS) in ``language``, else the default language's."""
        if field not in self.TRANSLATED_FIELDS:
            raise ValueError(field)
        return translated_text(self.translations, field, language, getattr(self, field))

    def title_in(self, language: str | None) -> str:
        """The reward's title in ``language``, else the default language's."""
        return self.text_in("reward_title", language)

    def _program_design_changed(self) -> None:
        # The card shows its milestones: a change is a new design of the program.
        with transaction.atomic():
            Program.objects.filter(pk=self.program_id).update(
                design_version=models.F("design_version") + 1
            )
            passes_of_program_changed(self.program)

    def clean(self) -> None:
        program = self.program if self.program_id else None
        if program is None:
            return
        others = Milestone.objects.filter(program=program).exclude(pk=self.pk)
        if others.count() >= MAX_MILESTONES:
            raise ValidationError(
                ngettext(
                    "A card has at most %(most)d milestone before its goal.",
                    "A card has at most %(most)d milestones before its goal.",
                    MAX_MILESTONES,
                )
                % {"most": MAX_MILESTONES}
            )
        if self.stamps is not None and self.stamps >= program.stamps_goal:
            raise ValidationError(
                {
                    "stamps": ngettext(
                        "A milestone comes before the goal of %(goal)d stamp.",
                        "A milestone comes before the goal of %(goal)d stamps.",
                        program.stamps_goal,
                    )
                    % {"goal": program.stamps_goal}
                }
            )


class JoinChannel(models.TextChoices):
    """Where a customer joined; the join QR's ``ch`` parameter names where it was printed."""

    QR = "qr", _("Join QR code")
    TABLE_TENT = "table_tent", _("Table tent")
    POSTER = "poster", _("Poster")
    WINDOW_STICKER = "window_sticker", _("Window sticker")
    COUNTER_CARD = "counter_card", _("Counter card")
    RECEIPT = "receipt", _("Receipt")
    BAG = "bag", _("Bag or packaging")
    FLYER = "flyer", _("Flyer")
    WEBSITE = "website", _("Website")
    SOCIAL = "social", _("Social media")
    EMAIL = "email", _("Email")
    STAFF = "staff", _("Staff")
    KIOSK = "kiosk", _("Kiosk")
    API = "api", _("API")
    IMPORT = "import", _("Import")

    @classmethod
    def from_qr(cls, value: object) -> "JoinChannel":
        """The channel a join QR's ``ch`` names; anything unknown is a plain join QR.

        Only the places a QR can be printed or posted count: a URL cannot claim to be staff,
        a kiosk, the API or an import.
        """
        if isinstance(value, str) and value in _QR_CHANNELS:
            return cls(value)
        return cls.QR


_QR_CHANNELS = frozenset(
    {
        JoinChannel.QR,
        JoinChannel.TABLE_TENT,
        JoinChannel.POSTER,
        JoinChannel.WINDOW_STICKER,
        JoinChannel.COUNTER_CARD,
        JoinChannel.RECEIPT,
        JoinChannel.BAG,
        JoinChannel.FLYER,
        JoinChannel.WEBSITE,
        JoinChannel.SOCIAL,
        JoinChannel.EMAIL,
    }
)


class Customer(models.Model):
    """A person known to one business."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(_("name"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    marketing_consent = models.BooleanField(_("agrees to marketing messages"), default=False)
    join_channel = models.CharField(max_length=16, choices=JoinChannel.choices, default="qr")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(business="business")

    class Meta:
        # Analytics: customers who joined in a period.
        indexes = [models.Index(fields=["business", "created_at"], name="customer_business_joined")]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "email"],
                condition=~models.Q(email=""),
                name="customer_email_unique_per_business",
            ),
            models.UniqueConstraint(
                fields=["business", "phone"],
                condition=~models.Q(phone=""),
                name="customer_phone_unique_per_business",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or str(self.phone) or f"#{self.pk}"


class Card(models.Model):
    """A customer's card in a program. Wallet passes and the web card are views of it."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="cards")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cards")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="cards")
    # The secret of the web card URL; never shown to staff or printed.
    token = models.CharField(max_length=64, unique=True, editable=False)
    # Short code printed in the barcode and typed by staff; see loyalty.card_codes.
    code = models.CharField(max_length=16, unique=True, editable=False)

    # A cache of the ledger, written only by loyalty.services.
    stamps = models.PositiveIntegerField(default=0)
    lifetime_stamps = models.IntegerField(default=0)
    cycles_completed = models.PositiveIntegerField(default=0)
    last_stamp_at = models.DateTimeField(null=True, blank=True)
    stamp_day = models.DateField(null=True, blank=True)
    stamps_on_day = models.PositiveIntegerField(default=0)
    # Goes up with every change of the counters: a stamp written from an older read is refused
    # by the database, so it is retried with the card locked.
    version = models.PositiveBigIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "customer"], name="one_card_per_program"),
        ]
        indexes = [
            # The dashboard's newest cards, and the cards the stats rollup has not reached.
            # Not on updated_at: every stamp changes it, and an index on it would make every
            # stamp's update of the card a non-HOT one.
            models.Index(fields=["business", "created_at", "id"], name="card_business_created"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def display_code(self) -> str:
        """The code as printed for people: in two groups, easier to read out and type."""
        return format_card_code(self.code)


class StampEventKind(models.TextChoices):
    STAMP = "stamp", _("Stamp")
    CORRECTION = "correction", _("Correction")


class StampEvent(models.Model):
    """One append-only ledger row: +n stamps, or a correction (-n) with its reason."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    # Indexed by (card, created_at) below; a second index on card alone is only write cost.
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=16, choices=StampEventKind.choices)
    delta = models.IntegerField()
    source = models.CharField(max_length=16, choices=StampSource.choices)
    reason = models.CharField(max_length=255, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    location = models.ForeignKey(
        Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What the customer spent on this visit, in the business's currency's minor units, when
    # the stamp's source knew it.
    amount = models.BigIntegerField(null=True, blank=True)
    # The card's stamps in its current cycle right after this event, rewards taken.
    balance_after = models.IntegerField()
    created_at = models.DateTimeField()

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [
            models.Index(fields=["card", "created_at"]),
            # Analytics: a period of the business's ledger. On PostgreSQL the index also
            # carries the columns the analytics read, so they come from it alone (loyalty
            # migration 0006; SQLite has no such indexes).
            models.Index(fields=["business", "created_at"], name="stampevent_business_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(delta=0), name="stamp_delta_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.card_id}"


class RewardStatus(models.TextChoices):
    READY = "ready", _("Ready")
    REDEEMED = "redeemed", _("Redeemed")
    VOUCHER_ISSUED = "voucher_issued", _("Voucher issued")
    VOUCHER_PENDING = "voucher_pending", _("Voucher not issued yet")
    DRAW_PENDING = "draw_pending", _("Draw pending")
    DRAWN = "drawn", _("Drawn")


class Reward(models.Model):
    """What a card earned in one cycle: at its goal (closing the cycle), or at a milestone."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    # Indexed by the unique (card, cycle, …) constraints below.
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="rewards", db_index=False)
    # The milestone earned on the way; empty for the program's goal, which closes the cycle.
    milestone = models.ForeignKey(
        Milestone, on_delete=models.PROTECT, null=True, blank=True, related_name="rewards"
    )
    kind = models.CharField(max_length=16, choices=RewardKind.choices)
    status = models.CharField(max_length=16, choices=RewardStatus.choices)
    cycle = models.PositiveIntegerField()
    # The stamps this reward used up: the program's goal when the cycle closed; 0 for a
    # milestone, which the card passes on its way to the goal.
    stamps_used = models.PositiveSmallIntegerField()
    # The ledger row that earned it (a stamp or a correction): where, how and by whom it was
    # earned. Empty for rewards earned before this was recorded whose row could not be told.
    # The ledger is append-only: its rows go only with their card, and so do its rewards
    # (the database's constraint still refuses an earning row deleted alone).
    earned_by = models.ForeignKey(
        StampEvent, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        # Analytics: rewards earned, and "reward ready" handed over, in a period.
        indexes = [
            models.Index(fields=["business", "created_at"], name="reward_business_earned"),
            models.Index(
                fields=["business", "settled_at"],
                condition=models.Q(status="redeemed"),
                name="reward_business_handed_over",
            ),
            # A customer's rewards waiting (the customers list, a row at a time): the
            # unique indexes below hold only goals or only milestones.
            models.Index(fields=["card", "status"], name="reward_card_status"),
        ]
        constraints = [
            # Each reward is earned at most once per cycle, also when a correction takes the
            # card back below a milestone and it passes it again.
            models.UniqueConstraint(
                fields=["card", "cycle"],
                condition=models.Q(milestone__isnull=True),
                name="one_goal_reward_per_cycle",
            ),
            models.UniqueConstraint(
                fields=["card", "cycle", "milestone"],
                condition=models.Q(milestone__isnull=False),
                name="one_milestone_reward_per_cycle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} cycle {self.cycle} ({self.status})"

    @property
    def title(self) -> str:
        return self.title_in(None)

    def title_in(self, language: str | None) -> str:
        """The reward's title in ``language``, as the program (the goal's) or the milestone
        gives it in that language, else in the default language (``text_in``)."""
        if self.milestone_id is not None:
            return self.milestone.title_in(language) if self.milestone is not None else ""
        return self.card.program.text_in("reward_title", language)
