"""`manage.py creatives_duplicates [--campaign NAME] [--check]`: report stored creatives that repeat another."""

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.selectors import creative_duplicates


class Command(BaseCommand):
    help = (
        "List image creatives that show the same ad as another of their product set and size (same file, or the "
        "same picture to a viewer). Nothing is changed: reject the repeats in the review gallery."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", help="Only this campaign (its name)")
        parser.add_argument("--check", action="store_true", help="Exit with status 1 when any duplicate is found")

    def handle(self, *args, campaign=None, check=False, **options):
        chosen = None
        if campaign:
            chosen = Campaign.objects.filter(name=campaign).first()
            if chosen is None:
                raise CommandError(f"No campaign is named {campaign!r}.")
        groups = creative_duplicates(campaign=chosen)
        for group in groups:
            kept, *repeats = group.creatives
            how = "the same file" if group.identical_files else "the same picture"
            others = ", ".join(f"{c.pk} ({c.get_state_display()})" for c in repeats)
            self.stdout.write(
                f"{group.campaign} · {group.product_key} · {group.size}: creative {kept.pk} "
                f"({kept.get_state_display()}) is repeated by {others}: {how}"
            )
        repeats = sum(len(g.creatives) - 1 for g in groups)
        self.stdout.write(f"{repeats} duplicate creative(s) in {len(groups)} product set size(s).")
        if check and repeats:
            raise CommandError(f"{repeats} duplicate creative(s) found.", returncode=1)
