"""Whether a piece of text can be stored as it is: one check for every service that writes text.

PostgreSQL refuses a NUL character in text and in JSON, and UTF-8 has no form for a lone
surrogate (what a broken form post or a bad decode can leave in a Python string); SQLite
would keep the NUL and hand it to every page and export later. Services refuse such text
with their own translated refusal before they write anything.
"""

from django.utils.translation import gettext_lazy as _

UNSTORABLE_TEXT = _("The text contains a character that cannot be saved. Remove it and try again.")


def is_storable(*texts: str) -> bool:
    """True if every one of ``texts`` can be stored and shown as it is."""
    for text in texts:
        if "\x00" in text:
            return False
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True
