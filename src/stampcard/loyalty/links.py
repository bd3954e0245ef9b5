"""The public addresses printed on a program's QR codes.

One place for their shape: the join page serves it, posters and table tents print it.
"""

from urllib.parse import urlencode

from django.conf import settings

from stampcard.loyalty.models import Program


def join_path(program: Program, channel: str | None = None) -> str:
    """The join page's path for ``program``; ``channel`` records where the QR was printed."""
    path = f"/j/{program.business.slug}/{program.pk}/"
    return f"{path}?{urlencode({'ch': channel})}" if channel else path


def join_url(program: Program, channel: str | None = None) -> str:
    """The absolute join URL a printed QR code carries (``PUBLIC_BASE_URL`` + path)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + join_path(program, channel)
