"""Whether a piece of text can be stored as it is: one check for every service that writes text.

PostgreSQL refuses a NUL character in text and in JSON, and UTF-8 has no form for a lone
surrogate (what a broken form post or a bad decode can leave in a Python string); SQLite
would keep the NUL and hand it to every page and export later. Services refuse such text
with their own translated refusal before they write anything.
"""

import re
import unicodedata

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


# What a one-line text such as a person's name never needs and what disguises it: control
# characters (terminal escapes, a bell, line breaks) and the bidirectional embeddings,
# overrides and isolates that show text in another order than it is kept ("Ann\u202egnp.exe"
# reads "Annexe.png"). Joiners and marks that scripts and emoji need are not among them.
_HIDDEN_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def is_plain_line(text: str) -> bool:
    """True if ``text`` holds no control character and no bidirectional override."""
    return _HIDDEN_CONTROLS.search(text) is None


# Characters that show nothing, though Unicode counts them as letters or symbols: the Hangul
# fillers, the halfwidth filler, the blank Braille pattern and the Mongolian vowel separator.
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# What shows nothing by itself: format characters (zero-width spaces and joiners, the byte
# order mark, word joiners), separators, controls, and marks with no letter to sit on.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me"})


def shows_nothing(text: str) -> bool:
    """True if ``text`` would show as blank: empty, or only invisible characters ("\u200b",
    "\ufeff\u200d", a Hangul filler), so a name made of them is no name."""
    return all(
        ch in _BLANK_LOOKALIKES or unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text
    )
