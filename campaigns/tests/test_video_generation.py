"""Video placements: a campaign makes one video per product set and video size, once, and
serving hands a video placement its videos (never an image) with a poster."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from campaigns.errors import CampaignNotReady
from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
from campaigns.services import (
    creatives_generate_for_product_set,
    creatives_review,
    generation_job_start,
    product_upsert,
)
from campaigns.serving import placement_key_issue
from synthesis.ffmpeg import probe
from synthesis.samples import product_photo, sample_footage
from templates_app.models import Asset
from templates_app.services import asset_create, template_create, template_publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"
VIDEO_SPEC = {
    "spec_version": 1,
    "kind": "video",
    "name": "short",
    "duration": 3,
    "fps": 25,
    "base": {"type": "footage", "asset": "snow"},
    "slots": [
        {"type": "product", "start": 0, "end": 2, "motion": "zoom-in"},
        {"type": "highlight", "start": 0.3, "end": 2},
        {"type": "end_card", "start": 2, "end": 3, "cta": "立即抢购"},
    ],
}


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    return sample_footage(tmp_path_factory.mktemp("f") / "snow.mp4", seconds=4, size=(240, 426)).read_bytes()


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def campaign(footage):
    asset_create(name="snow", kind=Asset.Kind.FOOTAGE, data=footage)
    image_template = template_create(name="hero", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    video_template = template_create(name="short", spec=VIDEO_SPEC)
    image = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]])
    video = Placement.objects.create(name="feed-video", channel="recommendation", sizes=[[240, 426]], format="video")
    copy = AdCopySet.objects.create(name="winter", titles=["冬季羽绒服"])
    campaign = Campaign.objects.create(name="Winter", copy=copy, top_k=1, candidates_per_size=4)
    campaign.templates.add(template_publish(template=image_template), template_publish(template=video_template))
    campaign.placements.add(image, video)
    product = product_upsert(
        sku="V-1", title="羽绒服", price=Decimal("599"), image_data=_jpeg(product_photo((178, 34, 52), size=400).image)
    )
    product.highlights = ["90% 白鹅绒", "-20°C 保暖"]
    product.save()
    campaign.products.add(product)
    return campaign


def test_video_placement_gets_a_video_per_product_set_and_size(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE, job.failed_sets
    videos = list(Creative.objects.filter(campaign=campaign, format=Creative.Format.VIDEO))
    images = list(Creative.objects.filter(campaign=campaign, format=Creative.Format.IMAGE))
    assert len(videos) == 1 and len(images) == 1  # top 1 per size and format
    video = videos[0]
    info = probe(Path(video.file.path))
    assert (info.width, info.height, info.video_codec) == (240, 426, "h264")
    assert abs(info.duration - 3.0) <= 1 / 25 and video.duration == 3.0
    with video.poster.open("rb") as fh:
        assert Image.open(fh).size == (240, 426)
    assert video.template_version.template.name == "short"
    timeline = video.provenance["video"]["timeline"]
    assert [e["content"] for e in timeline if e["type"] == "highlight"] == ["90% 白鹅绒"]
    assert 0 < video.aesthetic_score <= 100


def test_running_it_twice_renders_and_stores_nothing_twice(campaign, django_capture_on_commit_callbacks, media):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)
    files = sorted(p.name for p in Path(media).rglob("*.mp4"))
    GenerationJob.objects.filter(pk=job.pk).update(completed_sets=[])  # as if the task were redelivered

    creatives_generate_for_product_set(job_id=job.pk, skus=["V-1"])

    assert Creative.objects.filter(campaign=campaign, format="video").count() == 1
    assert sorted(p.name for p in Path(media).rglob("*.mp4")) == files


def test_video_placement_without_a_video_template_cannot_start(campaign):
    campaign.templates.remove(*campaign.templates.filter(kind="video"))
    with pytest.raises(CampaignNotReady, match="add a published video template for the video placements"):
        generation_job_start(campaign=campaign)


def test_missing_footage_is_recorded_on_the_job_and_the_images_are_still_made(
    campaign, django_capture_on_commit_callbacks
):
    Asset.objects.filter(kind=Asset.Kind.FOOTAGE).delete()
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)
    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and job.completed_sets == ["V-1"] and job.failed_sets == {}
    assert list(Creative.objects.filter(campaign=campaign).values_list("format", flat=True)) == ["image"]
    version = campaign.templates.get(kind="video").current_version
    assert job.candidate_errors == [
        {
            "product_key": "V-1",
            "format": "video",
            "template_version": version.pk,
            "template": "short v1",
            "size": "240x426",
            "variant": None,
            "message": "FootageError: No footage asset named 'snow' has been uploaded",
        }
    ]


def test_a_video_that_fails_to_render_is_recorded_with_its_slot(
    campaign, django_capture_on_commit_callbacks, monkeypatch
):
    from campaigns.services import generation
    from synthesis.ffmpeg import VideoError

    def render_video(plan, output, **kwargs):
        raise VideoError(f"ffmpeg failed rendering {output.name}: Conversion failed!")

    monkeypatch.setattr(generation, "render_video", render_video)
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and job.failed_sets == {}
    assert Creative.objects.filter(campaign=campaign, format="image").count() == 1
    assert not Creative.objects.filter(campaign=campaign, format="video").exists()
    [error] = job.candidate_errors
    assert (error["format"], error["template"], error["size"], error["variant"]) == ("video", "short v1", "240x426", 0)
    assert error["message"] == "VideoError: ffmpeg failed rendering video.mp4: Conversion failed!"


def test_a_video_over_its_placements_file_size_is_re_encoded_to_fit(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)
    unlimited = Creative.objects.get(campaign=campaign, format="video")
    limit_kb = unlimited.file.size // 1024 // 2  # half what constant quality makes
    Creative.objects.filter(campaign=campaign).delete()
    Placement.objects.filter(format="video").update(max_file_kb=limit_kb)

    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)

    video = Creative.objects.get(campaign=campaign, format="video")
    assert video.file.size <= limit_kb * 1024
    assert not any(v.startswith("over_file_size") for v in video.violations)
    encoding = video.provenance["encoding"]
    assert encoding["fits"] and encoding["passes"] >= 2 and encoding["maxrate_kbps"] > 0
    info = probe(Path(video.file.path))
    assert (info.width, info.height, info.video_codec) == (240, 426, "h264") and abs(info.duration - 3.0) <= 1 / 25


def test_a_video_that_cannot_fit_its_placement_is_flagged_and_never_auto_approved(
    campaign, django_capture_on_commit_callbacks
):
    Placement.objects.filter(format="video").update(max_file_kb=8)  # less than 3 s of the quietest audio
    Campaign.objects.filter(pk=campaign.pk).update(auto_approve_score=0)

    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)

    video = Creative.objects.get(campaign=campaign, format="video")
    assert video.file.size > 8 * 1024 and video.provenance["encoding"]["fits"] is False
    assert any(v.startswith("over_file_size:") and v.endswith(">8KB") for v in video.violations)
    assert video.state == Creative.State.PENDING
    assert Creative.objects.get(campaign=campaign, format="image").state == Creative.State.APPROVED


def test_a_video_placement_is_served_videos_with_their_poster(campaign, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)
    creatives_review(creatives=Creative.objects.filter(campaign=campaign), approve=True)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LIVE)
    video_placement = Placement.objects.get(name="feed-video")
    key = placement_key_issue(placement=video_placement)

    body = client.get(f"/api/v1/serve/{video_placement.pk}", {"size": "240x426"}, HTTP_X_PLACEMENT_KEY=key).json()

    assert body["format"] == "video/mp4" and body["duration"] == 3.0
    assert body["url"].endswith(".mp4") and body["poster_url"].endswith(".jpg")
    image_placement = Placement.objects.get(name="feed")
    image_key = placement_key_issue(placement=image_placement)
    body = client.get(f"/api/v1/serve/{image_placement.pk}", {"size": "300x250"}, HTTP_X_PLACEMENT_KEY=image_key).json()
    assert body["format"] == "image/jpeg" and body["poster_url"] is None
