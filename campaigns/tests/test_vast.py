"""The VAST document itself: what a video player reads from it (no server involved)."""

from xml.etree import ElementTree as ET

import pytest

from campaigns.serving.vast import (
    VIDEO_EVENTS,
    VastAd,
    VastCompanion,
    VastMedia,
    vast_document,
    vast_duration,
)

NS = {"v": "http://www.iab.com/VAST"}


def _ad(**overrides) -> VastAd:
    fields = dict(
        ad_id="42",
        serve_id="abc123",
        title="冬季羽绒服 <轻暖> & more",
        media=VastMedia(
            url="https://cdn.example/creatives/42.mp4?x=1&y=2",
            width=720,
            height=1280,
            duration=15.04,
            bitrate_kbps=1800,
        ),
        impression_url="https://ads.example/t/i/TOKEN.gif",
        error_url="https://ads.example/t/v/error/TOKEN.gif?code=[ERRORCODE]",
        click_url="https://ads.example/t/c/CLICK",
        tracking_urls={event: f"https://ads.example/t/v/{event}/TOKEN.gif" for event in VIDEO_EVENTS},
        companion=VastCompanion(url="https://cdn.example/creatives/42.jpg", width=720, height=1280),
    )
    return VastAd(**{**fields, **overrides})


def test_duration_is_vast_clock_time():
    assert vast_duration(15.04) == "00:00:15.040"
    assert vast_duration(3725.5) == "01:02:05.500"


def test_inline_ad_carries_media_tracking_click_and_companion():
    root = ET.fromstring(vast_document(_ad()))
    assert root.tag == "{http://www.iab.com/VAST}VAST" and root.get("version") == "4.2"
    inline = root.find("v:Ad/v:InLine", NS)
    assert inline.findtext("v:Impression", namespaces=NS) == "https://ads.example/t/i/TOKEN.gif"
    assert inline.findtext("v:AdServingId", namespaces=NS) == "abc123"
    # Escaped, not injected: the title comes back as written.
    assert inline.findtext("v:AdTitle", namespaces=NS) == "冬季羽绒服 <轻暖> & more"
    linear = inline.find("v:Creatives/v:Creative/v:Linear", NS)
    assert linear.findtext("v:Duration", namespaces=NS) == "00:00:15.040"
    media = linear.find("v:MediaFiles/v:MediaFile", NS)
    assert media.text == "https://cdn.example/creatives/42.mp4?x=1&y=2"
    assert (media.get("type"), media.get("width"), media.get("height"), media.get("bitrate")) == (
        "video/mp4", "720", "1280", "1800",
    )  # fmt: skip
    events = {t.get("event"): t.text for t in linear.findall("v:TrackingEvents/v:Tracking", NS)}
    assert list(events) == list(VIDEO_EVENTS)
    assert linear.findtext("v:VideoClicks/v:ClickThrough", namespaces=NS) == "https://ads.example/t/c/CLICK"
    companion = inline.find("v:Creatives/v:Creative/v:CompanionAds/v:Companion", NS)
    assert companion.findtext("v:StaticResource", namespaces=NS) == "https://cdn.example/creatives/42.jpg"


def test_a_missing_tracking_url_is_refused_not_left_out():
    urls = {event: "https://ads.example/x" for event in VIDEO_EVENTS if event != "complete"}
    with pytest.raises(ValueError, match="complete"):
        vast_document(_ad(tracking_urls=urls))
