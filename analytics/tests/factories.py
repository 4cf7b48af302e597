"""Factories for the analytics app's models."""

import factory
from django.utils import timezone

from analytics.models import HourlyRollup
from campaigns.tests.factories import CreativeFactory, PlacementFactory


class HourlyRollupFactory(factory.django.DjangoModelFactory):
    """One creative's counts at one placement in one hour; gross counts equal the counted ones unless given."""

    class Meta:
        model = HourlyRollup

    hour = factory.LazyFunction(lambda: timezone.now().replace(minute=0, second=0, microsecond=0))
    creative = factory.SubFactory(CreativeFactory)
    placement = factory.SubFactory(PlacementFactory)
    template_version = factory.LazyAttribute(lambda r: r.creative.template_version)
    impressions = 0
    clicks = 0
    conversions = 0
    impressions_gross = factory.LazyAttribute(lambda r: r.impressions)
    clicks_gross = factory.LazyAttribute(lambda r: r.clicks)
    conversions_gross = factory.LazyAttribute(lambda r: r.conversions)
