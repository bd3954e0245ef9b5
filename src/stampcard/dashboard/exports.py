"""No lock-in: the owner downloads everything the business owns, in one click, and brings
an export into a new business here.

The export page says what the file holds and how another installation imports it; the
button posts to the same address, which answers with the zip (``portability.exporting``).
The import page takes that zip into the business while it holds no more than onboarding
made (``portability.importing.import_into_business``).
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from stampcard.portability.errors import ImportRefused
from stampcard.portability.exporting import export_pieces
from stampcard.portability.importing import import_into_business, onboarding_only
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
    # Sent while it is written: a large business's export takes minutes to make, and the
    # download starts at once instead of after them (nor does a proxy time out meanwhile).
    pieces = export_pieces(business=business, actor=request.actor)  # type: ignore[attr-defined]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(pieces, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(
        True, f"stampcard-{business.slug}-{stamp}.zip"
    )
    response["Cache-Control"] = "no-store"
    return response


# The largest upload the import page reads; the request is refused from its declared length.
MAX_IMPORT_UPLOAD_BYTES: int = settings.PORTABILITY_MAX_UPLOAD_BYTES


@requires(Permission.MANAGE_BUSINESS)
def import_page(request: HttpRequest, business_slug: str) -> HttpResponse:
    """Fill a new business with an export (``portability.importing``), owner only: its draft
    programs are replaced and its shops merged by name.

    A request longer than ``MAX_IMPORT_UPLOAD_BYTES`` is refused before its body is read;
    a refused file leaves nothing behind (one transaction) and says why.
    """
    business: Business = request.business  # type: ignore[attr-defined]
    error, status = "", 200
    if request.method == "POST":
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > MAX_IMPORT_UPLOAD_BYTES:
            error, status = _too_large(), 413
        elif (upload := request.FILES.get("export")) is None:
            error, status = _("Choose the .zip file that an export made."), 400
        elif upload.size is not None and upload.size > MAX_IMPORT_UPLOAD_BYTES:
            error, status = _too_large(), 413
        else:
            try:
                import_into_business(
                    business=business,
                    actor=request.actor,  # type: ignore[attr-defined]
                    source=upload,
                )
            except ImportRefused as refusal:
                error, status = refusal.message, refusal.http_status
            else:
                messages.success(
                    request,
                    _(
                        "Imported. Invite your team and pair your devices again; make a new "
                        "receipt key if your POS prints receipt codes."
                    ),
                )
                return redirect("dashboard:business", business.slug)
    context = {
        "fresh": onboarding_only(business),
        "error": error,
        "most_mb": MAX_IMPORT_UPLOAD_BYTES // (1024 * 1024),
        "tables": [name for name, _model in TABLES],
    }
    return render(request, "dashboard/exports/import.html", context, status=status)


def _too_large() -> str:
    return _("The file is larger than %(most)s MB. Import it with the import_business command.") % {
        "most": MAX_IMPORT_UPLOAD_BYTES // (1024 * 1024)
    }
