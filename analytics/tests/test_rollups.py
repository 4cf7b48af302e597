"""Hourly rollups count net and gross exactly, are idempotent, and feed serving's statistics."""

import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from analytics.models import Event, HourlyRollup
from analytics.services import rollups_build, serving_stats_refresh
from analytics.tasks import rollups_refresh
from campaigns.models import AdCopySet, Campaign, Placement
from campaigns.serving import STATS_CACHE_KEY
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(media):
    cache.clear()
    placement = Placement.objects.create(name="feed", channel="dsp", sizes=[[300, 250]])
    version = TemplateVersion.objects.create(template=Template.objects.create(name="t"), number=1, spec={})
    campaign = Campaign.objects.create(
        name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), status=Campaign.Status.LIVE
    )
    creatives = []
    for key in ("A", "B"):
        creatives.append(
            CreativeFactory(
                campaign=campaign, product_key=key, template_version=version, aesthetic_score=80, stored_file=b"x"
            )
        )
    return placement, creatives


def _event(n, kind, creative, placement, when, **flags):
    Event.objects.create(
        event_id=f"{kind}-{creative.pk}-{n}-{when:%H}",
        kind=kind,
        creative=creative,
        placement=placement,
        serve_id=f"{creative.pk}-{n}",  # a serve of its own: one counted event of each kind
        occurred_at=when,
        **flags,
    )


def _fill(world, hour):
    placement, (a, b) = world
    for n in range(10):
        _event(n, "impression", a, placement, hour + timedelta(minutes=n))
    _event(99, "impression", a, placement, hour, invalid_reason="bot")
    _event(1, "click", a, placement, hour + timedelta(minutes=5))
    _event(2, "click", a, placement, hour + timedelta(minutes=6), duplicate=True)
    for n in range(4):
        _event(n, "impression", b, placement, hour + timedelta(hours=1, minutes=n))


def test_rollups_count_net_and_gross_per_hour(world):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    _fill(world, hour)

    rollups_build(start=hour, end=hour + timedelta(hours=2))

    a_row = HourlyRollup.objects.get(creative=world[1][0])
    b_row = HourlyRollup.objects.get(creative=world[1][1])
    assert (a_row.hour, a_row.impressions_gross, a_row.impressions, a_row.clicks_gross, a_row.clicks) == (
        hour,
        11,
        10,
        2,
        1,
    )
    assert (b_row.hour, b_row.impressions) == (hour + timedelta(hours=1), 4)


def test_rebuilding_is_idempotent_and_the_command_gives_the_same_numbers(world):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    _fill(world, hour)

    def snapshot():
        return sorted(
            HourlyRollup.objects.values_list(
                "hour", "creative_id", "impressions", "clicks", "impressions_gross", "clicks_gross"
            )
        )

    rollups_build(start=hour, end=hour + timedelta(hours=1))
    rollups_build(start=hour + timedelta(hours=1), end=hour + timedelta(hours=2))
    incremental = snapshot()
    rollups_build(start=hour, end=hour + timedelta(hours=2))
    call_command("rollups_rebuild", since=(hour - timedelta(days=1)).isoformat(), stdout=io.StringIO())

    assert snapshot() == incremental


def test_periodic_task_refreshes_the_serving_statistics(world):
    placement, (a, b) = world
    now = timezone.now()
    _event(1, "impression", a, placement, now)
    _event(1, "click", a, placement, now)

    rollups_refresh()

    assert cache.get(STATS_CACHE_KEY.format(campaign_id=a.campaign_id)) == {a.pk: (1, 1)}
    assert serving_stats_refresh() == 1
