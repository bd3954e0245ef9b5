"""No lock-in: the owner downloads everything the business owns, in one click.

The page says what the file holds and how another installation imports it; the button posts
to the same address, which answers with the zip (``portability.exporting``).
"""

import tempfile

from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from stampcard.portability.exporting import export_business
from stampcard.portability.tables import TABLES
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Business
from stampcard.tenancy.permissions import Permission


@requires(Permission.EXPORT_DATA)
def export_page(request: HttpRequest, business_slug: str) -> HttpResponseBase:
    business: Business = request.business  # type: ignore[attr-defined]
    if request.method != "POST":
        return render(
            request, "dashboard/exports/page.html", {"tables": [name for name, _m in TABLES]}
        )
    # Spooled to disk, not memory: a large business's export is large.
    target = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    export_business(business=business, actor=request.actor, target=target)  # type: ignore[attr-defined]
    target.seek(0)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        target,
        as_attachment=True,
        filename=f"stampcard-{business.slug}-{stamp}.zip",
        content_type="application/zip",
    )
