"""The program designer's forms: they parse and check what was typed; the service writes it."""

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from stampcard import money
from stampcard.loyalty.models import MAX_MILESTONES, CardBarcode, Program, StampSource
from stampcard.loyalty.services.programs import (
    MILESTONE_TRANSLATION_LIMITS,
    PROGRAM_FIELDS,
    STAMP_ICONS,
    TRANSLATION_LIMITS,
    MilestoneDraft,
    clean_translations,
)
from stampcard.refusals import Refusal
from stampcard.tenancy.models import Business
from stampcard.uploads import ACCEPT, CleanImage, UnsafeImage, clean_upload
from stampcard.vouchers.models import CodePool, VoucherTemplate
from stampcard.vouchers.services.goal_voucher_settings import VOUCHER_FIELDS
from stampcard.wallet import stamp_icons

_COLOR = forms.TextInput(attrs={"type": "color"})
_SHORT_TEXT = forms.Textarea(attrs={"rows": 2})
# The uploaded pictures: (form field, model field, folder). Each is redrawn by
# ``clean_upload`` and stored under its content hash by ``store_pictures``.
PICTURES = (
    ("logo_file", "logo", "logos"),
    ("stamp_image_file", "stamp_image", "stamps"),
    ("strip_image_file", "strip_image", "strips"),
)
# How long a picture chosen in the designer is kept for its previews (``keep_for_preview``).
PREVIEW_PICTURE_SECONDS = 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{24}")
TRANSLATION_LABELS = {
    "name": _("Card name"),
    "reward_title": _("Reward"),
    "reward_description": _("Reward description"),
    "terms": _("Terms"),
}


class ProgramForm(forms.ModelForm):
    """The program's own fields, amounts as the owner writes money, and its translations."""

    amount_per_stamp_text = forms.CharField(
        label=_("Amount for one stamp"), required=False, max_length=money.MAX_TEXT
    )
    minimum_spend_text = forms.CharField(
        label=_("Minimum spend"), required=False, max_length=money.MAX_TEXT
    )
    allowed_sources = forms.MultipleChoiceField(
        label=_("Ways to collect stamps"),
        choices=StampSource.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    stamp_icon = forms.ChoiceField(
        label=_("Stamp icon"),
        choices=[(name, label) for name, (label, _drawing) in stamp_icons.ICONS.items()],
    )
    # Not required: a form that leaves it out keeps the program's (QR code for a new one).
    card_barcode = forms.ChoiceField(
        label=_("Barcode on the pass"),
        choices=CardBarcode.choices,
        required=False,
        help_text=_("Code 128 suits a till's laser scanner; a camera reads either."),
    )
    logo_file = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG, JPEG, WEBP, HEIC or SVG. It is redrawn for the wallet."),
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    stamp_image_file = forms.FileField(
        label=_("Your own stamp"),
        required=False,
        help_text=_(
            "Instead of the icon: a square picture, best with a transparent background "
            "(PNG, WEBP or SVG)."
        ),
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
    )
    remove_stamp_image = forms.BooleanField(label=_("Use the icon again"), required=False)
    strip_image_file = forms.FileField(
        label=_("Picture behind the stamps"),
        required=False,
        help_text=_(
            "A wide picture (about 3 to 1). It is cropped to fit and dimmed towards the "
            "background colour so the stamps stay easy to read."
        ),
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
    )
    remove_strip_image = forms.BooleanField(label=_("Remove the picture"), required=False)

    class Meta:
        model = Program
        fields = [
            field
            for field in PROGRAM_FIELDS
            if field
            not in (
                "amount_per_stamp",
                "minimum_spend",
                "allowed_sources",
                "stamp_icon",
                "card_barcode",
                "logo",
                "stamp_image",
                "strip_image",
            )
        ]
        labels = {
            "name": _("Card name"),
            "background_color": _("Background colour"),
            "foreground_color": _("Text colour"),
            "label_color": _("Label colour"),
            "reward_kind": _("Reward kind"),
        }
        widgets = {
            "background_color": _COLOR,
            "foreground_color": _COLOR,
            "label_color": _COLOR,
            "reward_description": _SHORT_TEXT,
            "terms": _SHORT_TEXT,
        }

    def __init__(
        self,
        *args: Any,
        business: Business,
        picture_tokens: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.business = business
        self.instance.business = business
        # The uploads as ``clean_image`` drew them again, by model field; stored only by
        # ``store_pictures``.
        self.pictures: dict[str, CleanImage] = {}
        # The preview's: pictures chosen before and kept for it (``keep_for_preview``), by
        # model field, standing in for an upload this request does not carry.
        self.picture_tokens = dict(picture_tokens or {})
        self._kept: set[str] = set()  # the model fields whose picture came by its token
        for _upload, field, _folder in PICTURES:
            if not getattr(self.instance, field):
                del self.fields[f"remove_{field}"]
        self.languages = business.other_languages
        texts = self.instance.translations or {}
        for code, _name in self.languages:
            for field, limit in TRANSLATION_LIMITS.items():
                self.fields[f"tr_{code}_{field}"] = forms.CharField(
                    label=TRANSLATION_LABELS[field],
                    required=False,
                    max_length=limit,
                    initial=texts.get(code, {}).get(field, ""),
                    widget=_SHORT_TEXT
                    if field in ("reward_description", "terms")
                    else forms.TextInput(),
                )
        for name in ("amount_per_stamp", "minimum_spend"):
            stored = getattr(self.instance, name)
            if stored is not None and not self.is_bound:
                exponent = money.currency_exponent(business.currency)
                self.fields[f"{name}_text"].initial = str(Decimal(stored).scaleb(-exponent))
        self.fields["amount_per_stamp_text"].help_text = business.currency
        self.fields["minimum_spend_text"].help_text = business.currency
        if not self.is_bound:
            self.fields["allowed_sources"].initial = self.instance.allowed_sources
            self.fields["stamp_icon"].initial = self.instance.stamp_icon
            self.fields["card_barcode"].initial = self.instance.card_barcode

    def translation_groups(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(code, language name, its fields), for the template."""
        return [
            (code, str(name), [self[f"tr_{code}_{field}"] for field in TRANSLATION_LIMITS])
            for code, name in self.languages
        ]

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The designer's sections, in the order an owner thinks of them."""
        return [
            (str(legend), [self[name] for name in names])
            for legend, names in (
                (
                    _("The card and its reward"),
                    ("name", "stamps_goal", "reward_kind", "reward_title", "reward_description"),
                ),
                (
                    _("How stamps are earned"),
                    (
                        "stamp_rule",
                        "amount_per_stamp_text",
                        "minimum_spend_text",
                        "amount_rounding",
                        "allowed_sources",
                        "cooldown_seconds",
                        "max_stamps_per_visit",
                        "max_stamps_per_day",
                    ),
                ),
                (
                    _("Look"),
                    (
                        "background_color",
                        "foreground_color",
                        "label_color",
                        "stamp_icon",
                        "card_barcode",
                    ),
                ),
                (_("Logo"), self._upload_fields("logo")),
                (
                    _("Stamp and strip pictures"),
                    (
                        *self._upload_fields("stamp_image"),
                        *self._upload_fields("strip_image"),
                    ),
                ),
                (_("Terms"), ("terms",)),
            )
        ]

    def _upload_fields(self, field: str) -> tuple[str, ...]:
        remove = f"remove_{field}"
        return (f"{field}_file", *((remove,) if remove in self.fields else ()))

    @property
    def logo_image(self) -> CleanImage | None:
        return self.pictures.get("logo")

    def _amount(self, name: str) -> int | None:
        text = self.cleaned_data.get(f"{name}_text", "").strip()
        if not text:
            return None
        try:
            return money.to_minor(text, self.business.currency)
        except Refusal as refusal:
            self.add_error(f"{name}_text", refusal.message)
            return None

    def clean_stamp_icon(self) -> str:
        icon: str = self.cleaned_data["stamp_icon"]
        if icon not in STAMP_ICONS or icon not in stamp_icons.ICONS:
            raise ValidationError(_("Choose one of the icons."))
        return icon

    def _clean_picture(self, upload_field: str, field: str) -> Any:
        upload = self.cleaned_data.get(upload_field)
        if upload is None:
            kept = preview_picture(self.business, self.picture_tokens.get(field, ""))
            if kept is not None:
                self.pictures[field] = kept
                self._kept.add(field)
            return None
        try:
            self.pictures[field] = clean_upload(upload)
        except UnsafeImage as refusal:
            raise ValidationError(refusal.message) from None
        return upload

    def clean_logo_file(self) -> Any:
        return self._clean_picture("logo_file", "logo")

    def clean_stamp_image_file(self) -> Any:
        return self._clean_picture("stamp_image_file", "stamp_image")

    def clean_strip_image_file(self) -> Any:
        return self._clean_picture("strip_image_file", "strip_image")

    def store_pictures(self) -> None:
        """Store the checked uploads under their content hash and point the program at them.

        Called just before saving: the same picture uploaded twice is one file.
        """
        for _upload, field, folder in PICTURES:
            image = self.pictures.get(field)
            if image is None:
                continue
            name = f"{folder}/{hashlib.sha256(image.data).hexdigest()}.{image.extension}"
            if not default_storage.exists(name):
                name = default_storage.save(name, ContentFile(image.data))
            getattr(self.instance, field).name = name

    def keep_for_preview(self) -> dict[str, str]:
        """The token of each picture the previews show that was chosen and not saved yet
        (by model field): the next preview sends the token, not the picture again."""
        tokens = {}
        for field, image in self.pictures.items():
            if field in self._kept:
                # Kept as long as the owner goes on designing.
                cache.touch(
                    _preview_key(self.business, self.picture_tokens[field]), PREVIEW_PICTURE_SECONDS
                )
                tokens[field] = self.picture_tokens[field]
                continue
            token = secrets.token_urlsafe(18)
            cache.set(_preview_key(self.business, token), image, PREVIEW_PICTURE_SECONDS)
            tokens[field] = token
        return tokens

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for _upload, field, _folder in PICTURES:
            if cleaned.get(f"remove_{field}") and field not in self.pictures:
                getattr(self.instance, field).name = ""
        self.instance.amount_per_stamp = self._amount("amount_per_stamp")
        self.instance.minimum_spend = self._amount("minimum_spend")
        self.instance.allowed_sources = cleaned.get("allowed_sources") or []
        self.instance.stamp_icon = cleaned.get("stamp_icon") or self.instance.stamp_icon
        self.instance.card_barcode = cleaned.get("card_barcode") or self.instance.card_barcode
        # Too long a text is refused by its field already.
        self.instance.translations = clean_translations(self.business, self.translations())
        return cleaned

    def _update_errors(self, errors: ValidationError) -> None:
        # The model's checks of the amounts land on the text fields the owner typed them in.
        if hasattr(errors, "error_dict"):
            errors = ValidationError(
                {
                    f"{field}_text" if f"{field}_text" in self.fields else field: messages
                    for field, messages in errors.error_dict.items()
                }
            )
        super()._update_errors(errors)  # type: ignore[misc]

    def values(self) -> dict[str, Any]:
        """What the service is given: ``PROGRAM_FIELDS`` from the checked instance."""
        return {field: getattr(self.instance, field) for field in PROGRAM_FIELDS}

    def translations(self) -> dict[str, dict[str, str]]:
        return {
            code: {
                field: self.cleaned_data.get(f"tr_{code}_{field}", "")
                for field in TRANSLATION_LIMITS
            }
            for code, _name in self.languages
        }


def preview_picture(business: Business, token: str) -> CleanImage | None:
    """The picture kept for the previews of ``business`` under ``token``, if it still is."""
    if not _TOKEN.fullmatch(token):
        return None
    found = cache.get(_preview_key(business, token))
    return found if isinstance(found, CleanImage) else None


def _preview_key(business: Business, token: str) -> str:
    return f"designer-picture:{business.pk}:{token}"


class VoucherForm(forms.ModelForm):
    """The goal voucher's settings, for a Smart Voucher reward."""

    # Declared here, not read from the model: its queryset is the business's pools, known
    # only inside the request's scope.
    code_pool = forms.ModelChoiceField(
        label=_("Code pool"),
        queryset=CodePool._base_manager.none(),
        required=False,
        help_text=_("Where Redeem Code vouchers take their codes from (Redeem codes page)."),
    )
    field_order = list(VOUCHER_FIELDS)

    class Meta:
        model = VoucherTemplate
        fields = [field for field in VOUCHER_FIELDS if field != "code_pool"]
        widgets = {"valid_until": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code_pool"].queryset = CodePool.objects.order_by(  # type: ignore[attr-defined]
            "name", "pk"
        )
        # Left out, the code keeps how it is shown (a new template: as a QR code).
        self.fields["code_display"].required = False
        if self.instance.code_pool_id is not None and not self.is_bound:
            self.fields["code_pool"].initial = self.instance.code_pool_id

    def values(self) -> dict[str, Any]:
        values = {field: self.cleaned_data.get(field) for field in VOUCHER_FIELDS}
        if not values["code_display"]:
            del values["code_display"]
        return values


class MilestoneForm(forms.Form):
    """One milestone row: its stamp, its reward, and the reward in each other language."""

    pk = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    stamps = forms.IntegerField(label=_("At stamp"), required=False, min_value=1, max_value=49)
    reward_title = forms.CharField(label=_("Reward"), required=False, max_length=120)

    def __init__(
        self, *args: Any, languages: Sequence[tuple[str, Any]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.languages = list(languages)
        titles = self.initial.get("titles") or {}
        for code, name in self.languages:
            self.fields[f"tr_{code}"] = forms.CharField(
                label=name,
                required=False,
                max_length=MILESTONE_TRANSLATION_LIMITS["reward_title"],
                initial=titles.get(code, ""),
            )

    def translation_fields(self) -> list[forms.BoundField]:
        """The reward's title in each other language, for the template."""
        return [self[f"tr_{code}"] for code, _name in self.languages]

    def titles(self) -> dict[str, str]:
        """The titles typed in other languages, by language code (empty ones too)."""
        return {code: self.cleaned_data.get(f"tr_{code}", "") for code, _name in self.languages}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        has_stamps = cleaned.get("stamps") is not None
        has_title = bool((cleaned.get("reward_title") or "").strip())
        if has_stamps != has_title and not self.errors:
            raise ValidationError(_("A milestone needs both its stamp and its reward."))
        return cleaned


# Given ``form_kwargs={"languages": business.other_languages}``: a title field per language.
MilestoneFormSet = forms.formset_factory(
    MilestoneForm, extra=0, max_num=MAX_MILESTONES, validate_max=True, absolute_max=MAX_MILESTONES
)


def milestone_initial(program: Program | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if program is not None and program.pk is not None:
        rows = [
            {
                "pk": m.pk,
                "stamps": m.stamps,
                "reward_title": m.reward_title,
                "titles": {
                    code: texts.get("reward_title", "")
                    for code, texts in (m.translations or {}).items()
                    if isinstance(texts, dict)
                },
            }
            for m in program.milestones.all()
        ]
    return rows + [{}] * (MAX_MILESTONES - len(rows))


def milestone_drafts(formset: Any) -> list[MilestoneDraft]:
    return [
        MilestoneDraft(
            stamps=form.cleaned_data["stamps"],
            reward_title=form.cleaned_data["reward_title"],
            pk=form.cleaned_data.get("pk"),
            titles=form.titles(),
        )
        for form in formset.forms
        if form.cleaned_data.get("stamps") is not None
    ]
