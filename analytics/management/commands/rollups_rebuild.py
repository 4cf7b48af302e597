"""`manage.py rollups_rebuild --since 2026-11-01 [--until ...]`: recount rollups from raw events."""

from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import rollups_build, serving_stats_refresh


class Command(BaseCommand):
    help = "Rebuild hourly rollups for a range from raw events (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="YYYY-MM-DD or ISO datetime (UTC)")
        parser.add_argument("--until", help="YYYY-MM-DD or ISO datetime (UTC); default: now")

    def handle(self, *args, since, until=None, **options):
        try:
            start = datetime.fromisoformat(since)
            end = datetime.fromisoformat(until) if until else timezone.now() + timedelta(hours=1)
        except ValueError as exc:
            raise CommandError(f"Bad date: {exc}") from exc
        start = start if timezone.is_aware(start) else timezone.make_aware(start, UTC)
        end = end if timezone.is_aware(end) else timezone.make_aware(end, UTC)
        rows = rollups_build(start=start, end=end)
        serving_stats_refresh()
        self.stdout.write(f"{rows} rollup rows for {start:%Y-%m-%d %H:00} .. {end:%Y-%m-%d %H:00}")
