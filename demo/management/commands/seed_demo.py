"""`manage.py seed_demo`: users per role, a brand, fonts, assets and a product catalogue."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.services import demo_seed
from synthesis.errors import SynthesisError


class Command(BaseCommand):
    help = "Seed the demo (idempotent: running it twice creates nothing twice)."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "")
        if not password:
            if not settings.DEBUG:
                raise CommandError("Set DEMO_PASSWORD to seed demo users on a non-DEBUG install.")
            password = "creative-demo"
        try:
            result = demo_seed(password=password)
        except SynthesisError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Demo ready: {result.products} products, {result.templates} templates, {result.fonts} fonts, "
            f"{result.assets} assets, {result.creatives} approved creatives."
        )
        self.stdout.write("Demo logins (username / password / role):")
        for username, pw, role in result.logins:
            self.stdout.write(f"  {username:<9} {pw:<15} {role}")
