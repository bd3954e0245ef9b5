"""Why an import was refused. Nothing of a refused import is kept (one transaction)."""

from django.utils.translation import gettext_lazy as _

from stampcard.refusals import Refusal


class ImportRefused(Refusal):
    """The file is not an export this installation can take; the message says why."""

    code = "import_refused"
    default_message = _("This file cannot be imported.")
    http_status = 400


class NotAnExport(ImportRefused):
    code = "not_an_export"
    default_message = _("This is not a stampcard export: choose the .zip file an export made.")


class ExportTooBig(ImportRefused):
    code = "export_too_big"
    default_message = _("This file is larger than an import may be here.")


class NewerExport(ImportRefused):
    code = "newer_export"
    default_message = _(
        "This export was made by a newer version of stampcard: update this installation first."
    )


class BusinessExists(ImportRefused):
    code = "business_exists"
    http_status = 409
    default_message = _("A business with this address (slug) exists here already.")


class CodesTaken(ImportRefused):
    code = "codes_taken"
    http_status = 409
    default_message = _(
        "Some card or voucher codes of this export are already used here, so printed cards "
        "and wallet passes would not work after the move. Was it imported here before?"
    )


class BusinessNotFresh(ImportRefused):
    code = "business_not_fresh"
    http_status = 409
    default_message = _(
        "This business already has live cards, customers or vouchers. An export can only be "
        "imported into a new business that holds no more than its shops and draft cards."
    )
