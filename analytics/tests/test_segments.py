"""The segment a creative was served to travels in its tracking tokens into events, rollups and dashboards."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import DailyRollup, Event, HourlyRollup
from analytics.selectors import template_leaderboard
from analytics.services import event_record, rollups_build
from campaigns.serving import serve_creative

pytestmark = pytest.mark.django_db


def test_events_and_rollups_keep_the_segment(served, client, analyst):
    placement = served.creative.campaign.placements.get()
    for segment, clicks in (("students", 1), ("", 0)):
        s = serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250), segment=segment)
        event_record(token=s.impression_token, kind="impression", user_agent="Mozilla/5.0")
        if clicks:
            event_record(token=s.click_token, kind="click", user_agent="Mozilla/5.0")
    now = timezone.now()
    rollups_build(start=now - timedelta(hours=1), end=now + timedelta(hours=1))

    assert set(Event.objects.values_list("segment", flat=True)) == {"students", ""}
    assert set(HourlyRollup.objects.values_list("segment", "impressions", "clicks")) == {("students", 1, 1), ("", 1, 0)}
    assert DailyRollup.objects.get(segment="students").clicks == 1
    span = dict(start=now - timedelta(days=1), end=now + timedelta(days=1))
    assert template_leaderboard(segment="students", **span)[0].ctr == 1.0
    assert template_leaderboard(segment="", **span)[0].ctr == 0.0
    assert template_leaderboard(**span)[0].impressions == 2

    client.force_login(analyst)
    page = client.get("/dashboards/", {"segment": "students"}).content.decode()
    assert '<option value="students" selected>' in page and '<option value="(none)"' in page
