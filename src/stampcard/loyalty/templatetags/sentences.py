"""Dates and times inside translated sentences (``{% load sentences %}``)."""

from datetime import date

from django import template
from django.utils import formats

register = template.Library()


@register.filter(expects_localtime=True)
def date_in_sentence(value: date | None, format_name: str = "DATE_FORMAT") -> str:
    """``value`` formatted for a sentence that ends right after it with its own full stop:
    without the period a format's abbreviation ends with (the Russian and Ukrainian "year"
    after a date, English "p.m."), so no language shows two."""
    if value in (None, ""):
        return ""
    return formats.date_format(value, format_name).rstrip(".")
