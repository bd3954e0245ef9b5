"""The public addresses printed on a program's QR codes.

One place for their shape: the join page serves it, posters and table tents print it; the
claim page serves a claim code's, receipts, stickers and bag inserts print it.
"""

from urllib.parse import urlencode

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
