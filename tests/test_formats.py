"""Dates and numbers as each language writes them: Kazakh by our formats module, the others
by Django's own."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django import forms
from django.conf import global_settings
from django.template import Context, Template
from django.utils import formats
from django.utils.translation import override

WHEN = datetime.datetime(2026, 2, 12, 14, 5)
AMOUNT = Decimal("1234567.5")
NBSP = "\xa0"


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_kazakh_dates_are_day_month_year_with_a_24_hour_clock():
    with override("kk"):
        assert render('{{ d|date:"SHORT_DATE_FORMAT" }}', d=WHEN) == "12.02.2026"
        assert render('{{ d|date:"SHORT_DATETIME_FORMAT" }}', d=WHEN) == "12.02.2026 14:05"
        assert render('{{ d|date:"DATE_FORMAT" }}', d=WHEN) == "2026 ж. 12 Ақпан"
        assert render('{{ d|date:"DATETIME_FORMAT" }}', d=WHEN) == "2026 ж. 12 Ақпан, 14:05"
        assert formats.get_format("FIRST_DAY_OF_WEEK") == 1


def test_kazakh_numbers_have_a_decimal_comma_and_groups_of_three(settings):
    with override("kk"):
        assert render("{{ n }}", n=AMOUNT) == "1234567,5"
        assert render('{{ n|floatformat:"1g" }}', n=AMOUNT) == f"1{NBSP}234{NBSP}567,5"
        settings.USE_THOUSAND_SEPARATOR = True
        assert render("{{ n }}", n=AMOUNT) == f"1{NBSP}234{NBSP}567,5"


def test_kazakh_dates_are_read_back_as_written():
    with override("kk"):
        field = forms.DateField()
        assert field.clean("12.02.2026") == WHEN.date()
        assert field.clean("2026-02-12") == WHEN.date()


NAMES = [
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "SHORT_DATE_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "TIME_FORMAT",
    "DECIMAL_SEPARATOR",
    "THOUSAND_SEPARATOR",
    "NUMBER_GROUPING",
    "FIRST_DAY_OF_WEEK",
]


@pytest.mark.parametrize("language", ["en", "th", "uk", "ru"])
def test_the_other_languages_keep_django_s_formats(language):
    django_s = importlib.import_module(f"django.conf.locale.{language}.formats")
    for name in NAMES:
        expected = getattr(django_s, name, getattr(global_settings, name))
        assert formats.get_format(name, language) == expected, name
