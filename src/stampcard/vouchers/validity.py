"""How long a voucher lasts, and the one bound on it that every voucher and setting obeys."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from stampcard.vouchers import errors


class Validity(models.TextChoices):
    UNLIMITED = "unlimited", _("Unlimited")
    DAYS = "days", _("Days")
    MONTHS = "months", _("Months")
    FIXED_DATE = "fixed_date", _("Until a date")


# The longest a voucher may last, in days or in months: ten years either way.
MAX_VALIDITY = {Validity.DAYS: 3650, Validity.MONTHS: 120}


@dataclass(frozen=True, slots=True)
class ValidityRule:
    """How long a voucher lasts: UNLIMITED, N DAYS, N MONTHS, or until a FIXED DATE."""

    kind: str = Validity.UNLIMITED
    amount: int | None = None
    until: date | None = None

    def problem(
        self, *, start: datetime, time_zone: str
    ) -> tuple[str, errors.InvalidVoucher] | None:
        """What keeps a voucher issued at ``start`` from having this validity, or None.

        The first item names the part that is wrong: "kind", "amount" or "until".
        """
        if self.kind not in Validity.values:
            return "kind", errors.InvalidVoucher(_("Choose how long the voucher is valid."))
        if self.kind in (Validity.DAYS, Validity.MONTHS):
            most = MAX_VALIDITY[Validity(self.kind)]
            if not self.amount or not 1 <= self.amount <= most:
                return "amount", errors.InvalidVoucher(
                    _("Give a number of days or months from 1 to %(most)d."), most=most
                )
        if self.kind == Validity.FIXED_DATE:
            if self.until is None:
                return "until", errors.InvalidVoucher(
                    _("Choose the date the voucher is valid until.")
                )
            if self._end_of(self.until, time_zone) <= start:
                return "until", errors.InvalidVoucher(
                    _("The date the voucher is valid until has passed.")
                )
        return None

    def valid_until(self, *, start: datetime, time_zone: str) -> datetime | None:
        """The end of validity for a voucher issued at ``start``, or None if unlimited.

        DAYS and MONTHS count from the moment of issue; a FIXED DATE lasts to the end of
        that day in the business's time zone. Refuses with ``InvalidVoucher``.
        """
        if (found := self.problem(start=start, time_zone=time_zone)) is not None:
            raise found[1]
        if self.kind == Validity.UNLIMITED:
            return None
        if self.kind == Validity.FIXED_DATE:
            assert self.until is not None
            return self._end_of(self.until, time_zone)
        assert self.amount is not None
        # Counted on the calendar where the business is: a month after 31 March is 30 April
        # there, whatever the date is in UTC.
        local_start = start.astimezone(ZoneInfo(time_zone))
        if self.kind == Validity.DAYS:
            return local_start + timedelta(days=self.amount)
        return local_start + relativedelta(months=self.amount)

    @property
    def text(self) -> str:
        """How long the vouchers last, as a sentence fragment people read ("30 days")."""
        amount = self.amount or 0
        if self.kind == Validity.DAYS:
            return ngettext("%(n)d day", "%(n)d days", amount) % {"n": amount}
        if self.kind == Validity.MONTHS:
            return ngettext("%(n)d month", "%(n)d months", amount) % {"n": amount}
        if self.kind == Validity.FIXED_DATE and self.until:
            return gettext("until %(date)s") % {"date": date_format(self.until)}
        return gettext("no end")

    @staticmethod
    def _end_of(day: date, time_zone: str) -> datetime:
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(time_zone))
