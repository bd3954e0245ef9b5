"""Brings the analytics' daily rollups up to date now, or rebuilds them from the ledger."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from stampcard.stats import rollup


class Command(BaseCommand):
    help = "Bring the analytics' daily rollups up to date (or rebuild them with --rebuild)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="forget every rollup and roll the whole ledger up again",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run = rollup.rebuild() if options["rebuild"] else rollup.roll_up()
        if run is None:
            self.stdout.write("Nothing to do: up to date, or another run is under way.")
        else:
            self.stdout.write(
                f"Rolled up to {run.until.isoformat()}: {run.businesses} businesses,"
                f" {run.days} days recomputed."
            )
