"""An operator reviews a video creative in the admin: the browser plays the engine's MP4."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_operator_plays_a_generated_video_in_the_review_page(live_server, page, settings, tmp_path, monkeypatch):
    from campaigns.models import Creative

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROOT_URLCONF = "tests.browser.media_urls"
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")
    call_command("seed_demo", stdout=io.StringIO())
    video = Creative.objects.filter(format=Creative.Format.VIDEO).order_by("pk").first()

    page.goto(f"{live_server.url}/admin/login/?next=/admin/campaigns/creative/{video.pk}/change/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "creative-demo")
    page.click("input[type=submit]")
    page.wait_for_function("() => document.querySelector('video') && document.querySelector('video').readyState >= 2")
    played = page.evaluate(
        """async () => {
            const v = document.querySelector('video');
            await v.play();
            await new Promise(r => setTimeout(r, 1500));
            v.pause();
            return {width: v.videoWidth, height: v.videoHeight, duration: v.duration, time: v.currentTime,
                    error: v.error && v.error.code};
        }"""
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "video-review.png"), full_page=True)

    assert played["error"] is None
    assert (played["width"], played["height"]) == (540, 960)
    assert abs(played["duration"] - 15.0) < 0.1
    assert played["time"] > 0.5, "the video really played"
    page.goto(f"{live_server.url}/campaigns/{video.campaign_id}/review/")
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    page.screenshot(path=str(SCREENSHOTS / "review-gallery.png"), full_page=True)
    drawn = page.evaluate("[...document.querySelectorAll('.creative img')].filter(i => i.naturalWidth > 0).length")
    assert drawn == Creative.objects.filter(campaign_id=video.campaign_id, format="image").count()
    assert page.locator(".creative video").count() == Creative.objects.filter(format="video").count()
    page.goto(f"{live_server.url}/admin/campaigns/creative/?format__exact=video")
    assert page.locator("#result_list img").count() == Creative.objects.filter(format="video").count()  # posters
