"""A video player integrates through VAST: Dailymotion's VAST client (npm), run in headless Chromium
against the live server, parses the ad, resolves the MP4 and fires the impression and quartiles."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

pytestmark = pytest.mark.django_db(transaction=True)
VAST_CLIENT = Path(__file__).resolve().parent / "vast" / "node_modules" / "@dailymotion" / "vast-client" / "dist"
CHROME_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _mp4(path: Path, seconds: int = 2) -> bytes:
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
         f"color=c=0xc83232:s=360x640:d={seconds}:r=25", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path.read_bytes()


@pytest.fixture
def vast_client_js() -> bytes:
    module = VAST_CLIENT / "vast-client.min.js"
    if not module.exists():
        hint = "run scripts/ensure-vast-client.sh (make setup-dev does)"
        if shutil.which("npm") is None and not os.environ.get("CI"):
            pytest.skip(f"@dailymotion/vast-client is not installed and npm is missing: {hint}")
        pytest.fail(f"@dailymotion/vast-client is not installed: {hint}")
    return module.read_bytes()


def test_the_vast_client_plays_the_served_ad_and_its_pings_are_counted(
    live_server, browser, settings, tmp_path, vast_client_js
):
    from analytics.models import Event
    from campaigns.models import Creative, Placement
    from campaigns.serving import placement_key_issue
    from campaigns.tests.factories import CampaignFactory, CreativeFactory, PlacementFactory

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROOT_URLCONF = "tests.browser.media_urls"
    placement = PlacementFactory(sizes=[[360, 640]], format=Placement.Format.VIDEO)
    campaign = CampaignFactory(landing_url="https://shop.example/p/1")
    campaign.placements.add(placement)
    creative = CreativeFactory(
        campaign=campaign, width=360, height=640, format=Creative.Format.VIDEO, duration=2.0, file=""
    )
    creative.file.save("vast-ad.mp4", ContentFile(_mp4(tmp_path / "ad.mp4")), save=False)
    creative.poster.save("vast-ad.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    key = placement_key_issue(placement=placement)

    context = browser.new_context(bypass_csp=True, user_agent=CHROME_UA)
    page = context.new_page()
    page.route("**/__vast-client.min.js", lambda route: route.fulfill(
        body=vast_client_js, content_type="application/javascript"))  # fmt: skip
    page.goto(f"{live_server.url}/")
    page.add_script_tag(
        type="module",
        content="import {VASTClient, VASTTracker} from '/__vast-client.min.js';"
        "window.VAST = {VASTClient, VASTTracker};",
    )
    page.wait_for_function("() => window.VAST")
    played = page.evaluate(
        """async ({url, key}) => {
            const client = new VAST.VASTClient();
            const response = await client.get(url, {fetchOptions: {headers: {'X-Placement-Key': key}}});
            const ad = response.ads[0];
            const linear = ad.creatives.find(c => c.type === 'linear');
            const companion = ad.creatives.find(c => c.type === 'companion');
            const media = linear.mediaFiles[0];
            const video = document.createElement('video');
            video.muted = true;
            video.src = media.fileURL;
            document.body.append(video);
            await new Promise((ok, fail) => { video.onloadedmetadata = ok; video.onerror = fail; });
            const tracker = new VAST.VASTTracker(client, ad, linear);
            tracker.trackImpression();
            for (const t of [0.1, 0.55, 1.05, 1.55]) tracker.setProgress(t * linear.duration / 2);
            tracker.complete();
            // The pings are image loads: wait until the browser has sent all six before the page goes.
            const pinged = () => performance.getEntriesByType('resource').filter(e => e.name.includes('/t/')).length;
            for (let i = 0; i < 100 && pinged() < 6; i++) await new Promise(r => setTimeout(r, 50));
            return {
                version: response.version, duration: linear.duration, type: media.mimeType,
                width: media.width, height: media.height, bitrate: media.bitrate,
                videoWidth: video.videoWidth, videoHeight: video.videoHeight,
                clickThrough: linear.videoClickThroughURLTemplate && linear.videoClickThroughURLTemplate.url,
                companions: companion ? companion.variations.length : 0,
                tracking: Object.keys(linear.trackingEvents).sort(),
            };
        }""",
        {"url": f"{live_server.url}/api/v1/serve/{placement.pk}?size=360x640&format=vast", "key": key},
    )
    context.close()

    assert played["version"] == "4.2" and played["duration"] == 2.0
    assert (played["type"], played["width"], played["height"]) == ("video/mp4", 360, 640)
    assert played["bitrate"] > 0
    assert (played["videoWidth"], played["videoHeight"]) == (360, 640), "the player resolved and decoded the MP4"
    assert "/t/c/" in played["clickThrough"] and played["companions"] == 1
    assert {"start", "firstQuartile", "midpoint", "thirdQuartile", "complete"} <= set(played["tracking"])
    wanted = {"impression", "video_start", "video_q1", "video_mid", "video_q3", "video_complete"}
    deadline = time.monotonic() + 10  # the pings are image loads the page does not wait for
    while time.monotonic() < deadline:
        kinds = set(Event.objects.filter(creative=creative).values_list("kind", flat=True))
        if wanted <= kinds:
            break
        time.sleep(0.2)
    assert kinds == wanted
    assert not Event.objects.filter(creative=creative).exclude(invalid_reason="").exists(), "counted, not flagged"
