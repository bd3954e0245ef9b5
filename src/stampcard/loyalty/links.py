"""The public addresses printed on a program's QR codes.

One place for their shape: the join page serves it, posters and table tents print it; the
claim page serves a claim code's, receipts, stickers and bag inserts print it.
"""

import re
from urllib.parse import unquote, urlencode, urlsplit

from django.conf import settings

from stampcard.loyalty.models import Program
from stampcard.tenancy.models import Business


def join_path(program: Program, channel: str | None = None) -> str:
    """The join page's path for ``program``; ``channel`` records where the QR was printed."""
    path = f"/j/{program.business.slug}/{program.pk}/"
    return f"{path}?{urlencode({'ch': channel})}" if channel else path


def join_url(program: Program, channel: str | None = None) -> str:
    """The absolute join URL a printed QR code carries (``PUBLIC_BASE_URL`` + path)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + join_path(program, channel)


def claim_path(business: Business, code: str) -> str:
    """The public claim page of a printed one-time code: the code itself is the secret."""
    return f"/k/{business.slug}/{code}/"


def claim_url(business: Business, code: str) -> str:
    """The absolute claim URL a printed claim code's QR carries (``PUBLIC_BASE_URL`` + path)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + claim_path(business, code)


def claim_start_url(business: Business) -> str:
    """The absolute address of the business's claim page where a code is typed."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + f"/k/{business.slug}/"


# A claim page's path as ``claim_path`` makes it, also under a join page
# (``/j/<slug>/<program id>/k/<code>/``, where the claim page sends the browser on).
_CLAIM_PATH = re.compile(r"(?:\A|/)(?:k/([-\w]+)|j/([-\w]+)/\d+/k)/([^/]+)/?\Z", re.ASCII)


def read_claim_link(text: str) -> tuple[str, str] | None:
    """The business slug and the code of a claim page's link (a claim code's QR), or None.

    Read by its path only: the host is whatever the QR was printed with (``PUBLIC_BASE_URL``
    may have changed since).
    """
    if "/" not in text or len(text) > 500:
        return None
    found = _CLAIM_PATH.search(urlsplit(text.strip()).path)
    if found is None:
        return None
    slug = found.group(1) or found.group(2)
    return slug, unquote(found.group(3))
