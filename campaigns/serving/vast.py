"""VAST 4.2 documents for video placements: the InLine ad a video player or DSP reads.

Pure XML building (no database, no request): the serve view hands in what it chose and the
signed tracking URLs, and gets the document's bytes. ElementTree escapes every URL and title,
so nothing a campaign's copy holds can change the document's structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET

VAST_VERSION = "4.2"
VAST_NAMESPACE = "http://www.iab.com/VAST"
AD_SYSTEM = "Creative Admin"
# The quartile events a player fires while the ad plays, in order; each is tracked on its own URL.
VIDEO_EVENTS = ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete")


@dataclass(frozen=True)
class VastMedia:
    url: str
    width: int
    height: int
    duration: float  # seconds
    bitrate_kbps: int | None
    mime_type: str = "video/mp4"


@dataclass(frozen=True)
class VastCompanion:
    url: str
    width: int
    height: int
    mime_type: str = "image/jpeg"


@dataclass(frozen=True)
class VastAd:
    ad_id: str
    serve_id: str
    title: str
    media: VastMedia
    impression_url: str
    error_url: str  # may hold the [ERRORCODE] macro, which the player fills in
    click_url: str
    tracking_urls: dict[str, str]  # VIDEO_EVENTS -> URL
    companion: VastCompanion | None = None


def vast_duration(seconds: float) -> str:
    """VAST's HH:MM:SS.mmm."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def vast_document(ad: VastAd) -> bytes:
    """The VAST 4.2 InLine document for one served video creative, UTF-8 with its declaration."""
    missing = [event for event in VIDEO_EVENTS if event not in ad.tracking_urls]
    if missing:
        raise ValueError(f"VAST tracking URLs missing for: {', '.join(missing)}")
    root = ET.Element("VAST", {"version": VAST_VERSION, "xmlns": VAST_NAMESPACE})
    inline = ET.SubElement(ET.SubElement(root, "Ad", {"id": ad.ad_id}), "InLine")
    _text(inline, "AdSystem", AD_SYSTEM, version="1")
    _text(inline, "Error", ad.error_url)
    _text(inline, "Impression", ad.impression_url, id="creative-admin")
    _text(inline, "AdServingId", ad.serve_id)
    _text(inline, "AdTitle", ad.title)
    creatives = ET.SubElement(inline, "Creatives")

    creative = ET.SubElement(creatives, "Creative", {"id": ad.ad_id, "adId": ad.ad_id, "sequence": "1"})
    _text(creative, "UniversalAdId", ad.ad_id, idRegistry="creative-admin")
    linear = ET.SubElement(creative, "Linear")
    _text(linear, "Duration", vast_duration(ad.media.duration))
    tracking = ET.SubElement(linear, "TrackingEvents")
    for event in VIDEO_EVENTS:
        _text(tracking, "Tracking", ad.tracking_urls[event], event=event)
    clicks = ET.SubElement(linear, "VideoClicks")
    _text(clicks, "ClickThrough", ad.click_url, id="creative-admin")
    media_files = ET.SubElement(linear, "MediaFiles")
    media_attrs = {
        "delivery": "progressive",
        "type": ad.media.mime_type,
        "width": str(ad.media.width),
        "height": str(ad.media.height),
        "scalable": "true",
        "maintainAspectRatio": "true",
    }
    if ad.media.bitrate_kbps:
        media_attrs["bitrate"] = str(ad.media.bitrate_kbps)
    _text(media_files, "MediaFile", ad.media.url, **media_attrs)

    if ad.companion is not None:
        companion_creative = ET.SubElement(creatives, "Creative", {"id": f"{ad.ad_id}-poster", "sequence": "1"})
        _text(companion_creative, "UniversalAdId", f"{ad.ad_id}-poster", idRegistry="creative-admin")
        companions = ET.SubElement(companion_creative, "CompanionAds", {"required": "none"})
        companion = ET.SubElement(
            companions,
            "Companion",
            {"id": f"{ad.ad_id}-poster", "width": str(ad.companion.width), "height": str(ad.companion.height)},
        )
        _text(companion, "StaticResource", ad.companion.url, creativeType=ad.companion.mime_type)
        _text(companion, "CompanionClickThrough", ad.click_url)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
