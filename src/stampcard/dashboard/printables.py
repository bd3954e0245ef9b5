"""Join QR printables as PDF downloads: ``?kind=poster&size=a4&lang=th``."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from stampcard.loyalty.models import Program
from stampcard.printables.layout import KINDS, SIZES, printable_pdf
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.permissions import Permission


@requires(Permission.MANAGE_PROGRAMS)
def printable(request: HttpRequest, business_slug: str, program_id: int) -> HttpResponse:
    program: Program = get_object_or_404(Program.objects.select_related("business"), pk=program_id)
    kind = request.GET.get("kind", "poster")
    size = request.GET.get("size", "a4")
    language = request.GET.get("lang") or program.business.default_language
    if (
        kind not in KINDS
        or size not in SIZES
        or language not in {code for code, _name in settings.LANGUAGES}
    ):
        return render(
            request,
            "dashboard/programs/bad_printable.html",
            {"message": _("Choose a printable, a paper size and a language from the lists.")},
            status=400,
        )
    pdf = printable_pdf(program=program, kind=kind, size=size, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{size}-{language}.pdf"'
    return response


@requires(Permission.MANAGE_PROGRAMS)
def print_page(request: HttpRequest, business_slug: str, program_id: int) -> HttpResponse:
    program = get_object_or_404(Program, pk=program_id)
    return render(
        request,
        "dashboard/programs/print.html",
        {"program": program, "kinds": KINDS, "sizes": SIZES},
    )
