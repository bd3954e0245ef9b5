from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scopes_disabled

from stampcard.portability.exporting import export_business
from stampcard.tenancy.actors import Actor, ActorKind
from stampcard.tenancy.models import Business


class Command(BaseCommand):
    help = "Write everything a business owns to a .zip (a JSON document and a CSV per table)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the business's slug")
        parser.add_argument("file", type=Path, help="the .zip to write")

    def handle(self, *args: Any, **options: Any) -> None:
        business = Business.objects.filter(slug=options["slug"]).first()
        if business is None:
            raise CommandError(f"No business has the slug {options['slug']!r}.")
        with options["file"].open("wb") as target, scopes_disabled():
            export_business(business=business, actor=Actor(kind=ActorKind.ADMIN), target=target)
        self.stdout.write(self.style.SUCCESS(f"Exported {business.name} to {options['file']}."))
