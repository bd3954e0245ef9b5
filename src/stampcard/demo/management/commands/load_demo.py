import os
import secrets

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from stampcard.demo.builder import DEMO_SLUG, OWNER_USERNAME, build_demo
from stampcard.tenancy.models import Business


class Command(BaseCommand):
    help = "Load the demo business Demo Coffee (once) and print its owner's login."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--customers", type=int, default=300)

    def handle(self, *args: object, customers: int, **options: object) -> None:
        with scopes_disabled():
            if not Business.objects.filter(slug=DEMO_SLUG).exists():
                self.stdout.write("Loading the demo business Demo Coffee…")
                build_demo(customers=customers)
        # Only a hash is stored, so a fresh password is set and shown each time.
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        owner = User.objects.get(username=OWNER_USERNAME)
        owner.set_password(password)
        owner.save(update_fields=["password"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo owner login: username {OWNER_USERNAME!r}, password {password!r}"
            )
        )
