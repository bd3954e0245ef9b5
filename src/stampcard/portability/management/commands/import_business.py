from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_scopes import scopes_disabled

from stampcard.portability.errors import ImportRefused
from stampcard.portability.importing import import_business
from stampcard.tenancy.models import Membership, Role


class Command(BaseCommand):
    help = (
        "Import a business from the .zip its export made (on this or another installation): "
        "everything in one transaction, card codes and tokens kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the export's .zip file")
        parser.add_argument("--slug", help="the business's address here (default: the export's)")
        parser.add_argument("--name", help="the business's name here (default: the export's)")
        parser.add_argument("--owner", help="username of the account that will own it")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"No account is called {options['owner']!r}.")
        try:
            with options["file"].open("rb") as source, transaction.atomic(), scopes_disabled():
                business = import_business(
                    source=source, slug=options["slug"], name=options["name"]
                )
                if owner is not None:
                    Membership.objects.create(business=business, user=owner, role=Role.OWNER)
        except OSError as error:
            raise CommandError(f"Cannot read {options['file']}: {error.strerror}") from error
        except ImportRefused as refusal:
            raise CommandError(refusal.message) from refusal
        self.stdout.write(self.style.SUCCESS(f"Imported {business.name} as /b/{business.slug}/."))
