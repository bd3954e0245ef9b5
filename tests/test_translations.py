"""Every language the product speaks has every sentence, compiled and current."""

import importlib
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils.translation import override

from stampcard.idempotency.services import AlreadyDone
from stampcard.refusals import Refusal

LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = [code for code, _ in settings.LANGUAGES if code != "en"]


# Every placeholder a refusal may hold; extra keys are ignored when a sentence is formatted.
SAMPLE_PARAMS = {
    "limit": 2,
    "stamps": 2,
    "most": 2,
    "wait": "2",
    "when": "1.1.2027",
    "pool": "P",
    "method": "M",
    "lines": "3",
    "minimum": "100 THB",
    "per_stamp": "100 THB",
    "currency": "THB",
    "given": "USD",
    "digits": 2,
    "ago": "2 seconds",
    "url": "https://example.org/k/shop/",
}

# Refusals kept outside an app's errors.py, imported here so that none is missed.
REFUSAL_MODULES = ("stampcard.money", "stampcard.loyalty.amounts")


def every_refusal(cls=Refusal):
    for app in apps.get_app_configs():  # load every app's refusals
        if importlib.util.find_spec(f"{app.name}.errors") is not None:
            importlib.import_module(f"{app.name}.errors")
    for module in REFUSAL_MODULES:
        importlib.import_module(module)
    yield from _subclasses(cls)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_its_compiled_file_current(language, tmp_path):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "django.mo"), str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.fullmatch(r"\d+ translated messages\.\n", result.stderr), result.stderr
    committed = (LOCALE / language / "LC_MESSAGES" / "django.mo").read_bytes()
    assert (tmp_path / "django.mo").read_bytes() == committed, "run compilemessages"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_refusal_is_translated(language):
    untranslated = []
    for refusal in every_refusal():
        if isinstance(refusal.default_message, str) or refusal is AlreadyDone:
            continue
        sample = refusal(**SAMPLE_PARAMS)
        english = sample.message
        assert english, refusal
        with override(language):
            if sample.message == english:
                untranslated.append(refusal.__name__)
    assert untranslated == []
