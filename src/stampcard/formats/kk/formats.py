"""Kazakh, after CLDR's ``kk``: year first with "ж." in long dates, dd.mm.yyyy in short ones,
a 24-hour clock, a decimal comma, digits grouped by threes with a non-breaking space, and
weeks that start on Monday. (Django's own ``F`` month names for kk are capitalised.)"""

DATE_FORMAT = "Y ж. j F"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y ж. j F, H:i"
YEAR_MONTH_FORMAT = "Y ж. F"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday

DATE_INPUT_FORMATS = [
    "%d.%m.%Y",  # '25.10.2006'
    "%d.%m.%y",  # '25.10.06'
    "%Y-%m-%d",  # '2006-10-25', as date inputs send it
]
DATETIME_INPUT_FORMATS = [
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S.%f",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",  # as datetime-local inputs send it
]
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"  # non-breaking space
NUMBER_GROUPING = 3
