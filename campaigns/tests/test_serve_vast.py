"""A video placement asks for VAST: the ad a player reads, and the playback pings it fires counted
like impressions and clicks (once per serve each, forged ones refused)."""

from datetime import timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone

from analytics.models import Event, HourlyRollup
from analytics.services import rollups_build
from campaigns.api.throttling import rate_counts_forget
from campaigns.models import Creative, Placement
from campaigns.serving import placement_key_issue
from campaigns.tests.factories import CampaignFactory, CreativeFactory, PlacementFactory

pytestmark = pytest.mark.django_db
NS = {"v": "http://www.iab.com/VAST"}


@pytest.fixture(autouse=True)
def clean(media):
    cache.clear()
    rate_counts_forget()


@pytest.fixture
def video_placement():
    placement = PlacementFactory(sizes=[[720, 1280]], format=Placement.Format.VIDEO)
    campaign = CampaignFactory(landing_url="https://shop.example/p/1")
    campaign.placements.add(placement)
    creative = CreativeFactory(
        campaign=campaign,
        width=720,
        height=1280,
        format=Creative.Format.VIDEO,
        duration=15.0,
        stored_file=b"\0" * 30_000,  # 30 kB over 15 s: 16 kbit/s
    )
    creative.poster.save("poster.jpg", ContentFile(b"jpeg"), save=True)
    return placement, placement_key_issue(placement=placement), creative


def _vast(client, placement, key, **extra):
    return client.get(f"/api/v1/serve/{placement.pk}", {"size": "720x1280", **extra}, HTTP_X_PLACEMENT_KEY=key)


def test_format_vast_answers_a_vast_4_inline_ad(client, video_placement):
    placement, key, creative = video_placement

    response = _vast(client, placement, key, format="vast")

    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.get("version") == "4.2"
    linear = root.find("v:Ad/v:InLine/v:Creatives/v:Creative/v:Linear", NS)
    media = linear.find("v:MediaFiles/v:MediaFile", NS)
    assert media.text.endswith(creative.file.url) and media.get("type") == "video/mp4"
    assert (media.get("width"), media.get("height"), media.get("bitrate")) == ("720", "1280", "16")
    assert linear.findtext("v:Duration", namespaces=NS) == "00:00:15.000"
    assert "/t/c/" in linear.findtext("v:VideoClicks/v:ClickThrough", namespaces=NS)
    assert root.find(".//v:CompanionAds/v:Companion/v:StaticResource", NS).text.endswith(creative.poster.url)
    # The JSON answer is unchanged for the same placement.
    assert _vast(client, placement, key).json()["creative_id"] == creative.pk


def test_accept_application_xml_asks_for_the_same(client, video_placement):
    placement, key, _ = video_placement
    response = client.get(
        f"/api/v1/serve/{placement.pk}", {"size": "720x1280"}, HTTP_X_PLACEMENT_KEY=key, HTTP_ACCEPT="application/xml"
    )
    assert response.status_code == 200 and ET.fromstring(response.content).get("version") == "4.2"


def test_errors_under_vast_keep_the_json_error_contract(client, video_placement):
    placement, key, _ = video_placement
    response = _vast(client, placement, key, format="vast", size="300x250")  # not one of its sizes
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json" and response.json()["code"] == "bad_size"


def test_an_image_placement_is_refused_vast(client):
    placement = PlacementFactory(sizes=[[300, 250]])
    key = placement_key_issue(placement=placement)
    response = client.get(
        f"/api/v1/serve/{placement.pk}", {"size": "300x250", "format": "vast"}, HTTP_X_PLACEMENT_KEY=key
    )
    assert response.status_code == 400


def test_playback_pings_are_stored_once_per_serve_and_rolled_up(client, video_placement):
    placement, key, creative = video_placement
    root = ET.fromstring(_vast(client, placement, key, format="vast").content)
    urls = {t.get("event"): urlsplit(t.text).path for t in root.iterfind(".//v:Tracking", NS)}
    impression = urlsplit(root.findtext(".//v:Impression", namespaces=NS)).path

    assert client.get(impression).status_code == 200
    for event in ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete"):
        response = client.get(urls[event], HTTP_USER_AGENT="Mozilla/5.0 player")
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    client.get(urls["complete"], HTTP_USER_AGENT="Mozilla/5.0 player")  # a replay stores nothing new

    kinds = sorted(Event.objects.filter(creative=creative).values_list("kind", flat=True))
    assert kinds == sorted(["impression", "video_start", "video_q1", "video_mid", "video_q3", "video_complete"]), (
        "one event per kind, the replayed complete not stored twice"
    )

    now = timezone.now()
    rollups_build(start=now - timedelta(hours=1), end=now + timedelta(hours=1))
    row = HourlyRollup.objects.get(creative=creative)
    assert (row.video_starts, row.video_midpoints, row.video_completes) == (1, 1, 1)


def test_a_forged_or_unknown_playback_ping_stores_nothing(client, video_placement):
    placement, key, _ = video_placement
    root = ET.fromstring(_vast(client, placement, key, format="vast").content)
    start = urlsplit(root.find(".//v:Tracking[@event='start']", NS).text).path
    forged = start.replace(".gif", "x.gif")
    assert client.get(forged, HTTP_USER_AGENT="Mozilla/5.0").status_code == 400
    assert client.get(start.replace("/start/", "/rewind/"), HTTP_USER_AGENT="Mozilla/5.0").status_code == 404
    # The impression token is not a playback token, and the other way round.
    impression_token = urlsplit(root.findtext(".//v:Impression", namespaces=NS)).path.split("/")[-1]
    assert client.get(f"/t/v/start/{impression_token}", HTTP_USER_AGENT="Mozilla/5.0").status_code == 400
    assert not Event.objects.filter(kind__startswith="video").exists()
