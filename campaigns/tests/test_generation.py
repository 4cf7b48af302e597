"""Generation: a campaign's product sets go through the engine into stored, scored creatives, exactly once."""

import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from campaigns.errors import CampaignNotReady
from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
from campaigns.services import (
    creatives_generate_for_product_set,
    generation_job_start,
    generation_jobs_resume,
    product_upsert,
)
from synthesis.samples import product_photo
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def campaign(designer):
    template = template_publish(
        template=template_create(name="hero", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    )
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250], [728, 90]])
    copy = AdCopySet.objects.create(name="winter", titles=["冬季羽绒服 限时直降", "轻薄保暖"], subtitles=["90% 白鹅绒"])
    campaign = Campaign.objects.create(name="Winter", copy=copy, top_k=2, candidates_per_size=8)
    campaign.templates.add(template)
    campaign.placements.add(placement)
    for sku, colour in (("A-1", (178, 34, 52)), ("A-2", (31, 58, 110))):
        campaign.products.add(
            product_upsert(
                sku=sku,
                title="羽绒服",
                price=Decimal("699.00"),
                image_data=_jpeg(product_photo(colour, size=400).image),
            )
        )
    return campaign


def test_generate_stores_top_k_creatives_per_product_set_and_size(
    campaign, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign, requested_by=operator)

    job.refresh_from_db()
    campaign.refresh_from_db()
    creatives = list(Creative.objects.filter(campaign=campaign))
    assert job.state == GenerationJob.State.DONE and job.progress == 1.0
    assert campaign.status == Campaign.Status.REVIEW
    assert len(creatives) == 2 * 2 * 2  # product sets x sizes x top K
    for creative in creatives:
        with creative.file.open("rb") as fh:
            image = Image.open(io.BytesIO(fh.read()))
        assert image.size == (creative.width, creative.height)
        assert creative.provenance["template"] == "hero" and creative.template_version.template.name == "hero"
        assert 0 < creative.aesthetic_score <= 100 and creative.violations == []


def test_running_a_product_set_twice_creates_nothing_twice(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)
    before = sorted(Creative.objects.values_list("product_key", "width", "height", "variant", "content_hash"))

    creatives_generate_for_product_set(job_id=job.pk, skus=["A-1"])
    job.completed_sets = []  # even with the done-marker lost, the unique slot holds
    job.save()
    creatives_generate_for_product_set(job_id=job.pk, skus=["A-1"])

    after = sorted(Creative.objects.values_list("product_key", "width", "height", "variant", "content_hash"))
    assert after == before


def test_a_slot_another_run_stores_meanwhile_is_kept_and_the_rest_of_the_set_is_stored(
    campaign, django_capture_on_commit_callbacks, monkeypatch
):
    from campaigns.services import generation

    with django_capture_on_commit_callbacks(execute=False):  # the job, without running its tasks
        job = generation_job_start(campaign=campaign)
    files_save, theirs = generation._files_save, []

    def files_save_while_another_run_stores_a_slot(row, files):
        if not theirs:  # another run (a task delivered twice) stores the first slot right now
            same = {f.attname: getattr(row, f.attname) for f in Creative._meta.concrete_fields if not f.primary_key}
            theirs.append(Creative.objects.create(**{**same, "file": "theirs.jpg"}))
        files_save(row, files)

    monkeypatch.setattr(generation, "_files_save", files_save_while_another_run_stores_a_slot)
    returned = creatives_generate_for_product_set(job_id=job.pk, skus=["A-1"])

    stored = Creative.objects.filter(campaign=campaign, product_key="A-1")
    assert stored.count() == 2 * 2  # sizes x top K, none twice
    assert theirs[0] in returned and stored.get(pk=theirs[0].pk).file.name == "theirs.jpg"
    assert all(c.file and c.file.name != "theirs.jpg" for c in stored.exclude(pk=theirs[0].pk))


def test_a_failing_product_set_is_recorded_and_the_job_goes_on(campaign, django_capture_on_commit_callbacks):
    blank = product_upsert(
        sku="A-3", title="空白", price=Decimal("1"), image_data=_jpeg(Image.new("RGB", (200, 200), "white"))
    )
    campaign.products.add(blank)

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE
    assert sorted(job.completed_sets) == ["A-1", "A-2"]
    assert list(job.failed_sets) == ["A-3"] and "No product found" in job.failed_sets["A-3"]
    assert not Creative.objects.filter(product_key="A-3").exists()


def test_campaign_without_templates_or_placements_cannot_start(campaign):
    campaign.templates.clear()
    campaign.placements.clear()

    with pytest.raises(CampaignNotReady) as excinfo:
        generation_job_start(campaign=campaign)

    assert "published template" in excinfo.value.message and "add at least one placement" in excinfo.value.message
    assert not GenerationJob.objects.exists()


def test_operator_starts_generation_through_the_api_and_reads_progress(
    client, campaign, operator, designer, django_capture_on_commit_callbacks
):
    client.force_login(designer)
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/generate").status_code == 403
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/api/v1/campaigns/{campaign.pk}/generate")
    progress = client.get(f"/api/v1/jobs/{started.json()['id']}").json()

    assert started.status_code == 202 and started.json()["product_sets_total"] == 2
    assert progress["state"] == "done" and progress["progress"] == 1.0 and progress["product_sets_done"] == 2


def test_generate_api_explains_why_a_campaign_cannot_start(client, campaign, operator):
    campaign.placements.clear()
    client.force_login(operator)

    response = client.post(f"/api/v1/campaigns/{campaign.pk}/generate")

    assert response.status_code == 400
    assert response.json()["code"] == "campaign_not_ready"
    assert "add at least one placement" in response.json()["message"]


def test_auto_approve_threshold_approves_only_high_scores_that_pass_every_hard_check(
    campaign, django_capture_on_commit_callbacks
):
    campaign.auto_approve_score = 80
    campaign.save()
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)

    creatives = list(Creative.objects.filter(campaign=campaign))
    for creative in creatives:
        expected = creative.aesthetic_score >= 80 and not creative.violations
        assert (creative.state == Creative.State.APPROVED) == expected, creative
    assert any(c.state == Creative.State.APPROVED for c in creatives)


def test_without_a_threshold_every_creative_waits_for_review(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)
    assert set(Creative.objects.filter(campaign=campaign).values_list("state", flat=True)) == {"pending"}


def test_the_job_records_how_long_each_product_set_took(campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)
    job.refresh_from_db()
    assert set(job.set_seconds) == {"A-1", "A-2"} and all(0 < s < 120 for s in job.set_seconds.values())


def test_creatives_fit_their_placements_file_size_or_are_flagged(campaign, django_capture_on_commit_callbacks):
    placement = campaign.placements.get()
    placement.max_file_kb = 6  # tight: the 300x250 (9 KB at quality 88) fits at a lower quality
    placement.save()
    strict = Placement.objects.create(name="tiny", channel="dsp", sizes=[[728, 90]], max_file_kb=1)
    campaign.placements.add(strict)  # the smallest limit for a size wins: 728x90 cannot fit 1 KB

    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)

    for creative in Creative.objects.filter(campaign=campaign):
        size_kb = creative.file.size / 1024
        if (creative.width, creative.height) == (300, 250):
            assert size_kb <= 6 and creative.provenance["jpeg_quality"] < 88
            assert not any(v.startswith("over_file_size") for v in creative.violations)
        else:
            assert any(v.startswith("over_file_size:") and v.endswith(">1KB") for v in creative.violations)
        with creative.thumbnail.open("rb") as fh:
            thumb = Image.open(io.BytesIO(fh.read()))
        assert max(thumb.size) <= 320


@pytest.fixture
def banner_breaks_one_template(campaign, monkeypatch):
    """A second published template whose render raises at the banner size (728x90) only."""
    import synthesis.search
    from synthesis.layout import aspect_class
    from templates_app.models import Template

    broken = template_publish(
        template=template_create(name="hero-b", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    )
    campaign.templates.add(broken)
    real_render = synthesis.search.render

    def render(template, size, **kwargs):
        if template.name == "hero-b" and aspect_class(*size) == "banner":
            raise ValueError("layer 'title' cannot be laid out on a banner")
        return real_render(template, size, **kwargs)

    monkeypatch.setattr(synthesis.search, "render", render)
    return Template.objects.get(name="hero-b").current_version


def test_a_template_failing_at_one_size_is_recorded_and_the_rest_of_the_set_is_made(
    campaign, banner_breaks_one_template, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and job.progress == 1.0
    assert sorted(job.completed_sets) == ["A-1", "A-2"] and job.failed_sets == {}
    for sku in ("A-1", "A-2"):
        made = Creative.objects.filter(campaign=campaign, product_key=sku)
        assert made.filter(width=300, height=250).count() == 2  # both templates compete at the other size
        banners = made.filter(width=728, height=90)
        assert banners.count() == 2 and all(c.file for c in banners)  # top K from the template that works
        assert {c.template_version.template.name for c in banners} == {"hero"}
    version = banner_breaks_one_template
    assert sorted(job.candidate_errors, key=lambda e: e["product_key"]) == [
        {
            "product_key": sku,
            "format": "image",
            "template_version": version.pk,
            "template": "hero-b v1",
            "size": "728x90",
            "variant": None,
            "message": "ValueError: layer 'title' cannot be laid out on a banner",
        }
        for sku in ("A-1", "A-2")
    ]


def test_a_product_set_whose_every_candidate_fails_is_failed_with_their_reason(
    campaign, banner_breaks_one_template, django_capture_on_commit_callbacks
):
    campaign.templates.remove(*campaign.templates.exclude(name="hero-b"))
    campaign.placements.update(sizes=[[728, 90]])

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.FAILED
    reason = "ValueError: layer 'title' cannot be laid out on a banner"
    assert job.failed_sets == {"A-1": reason, "A-2": reason}
    assert len(job.candidate_errors) == 2 and not Creative.objects.filter(campaign=campaign).exists()


def test_running_a_set_again_replaces_its_failed_candidates(
    campaign, banner_breaks_one_template, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)
    GenerationJob.objects.filter(pk=job.pk).update(completed_sets=["A-2"])  # as if A-1's task were redelivered

    creatives_generate_for_product_set(job_id=job.pk, skus=["A-1"])

    job.refresh_from_db()
    assert sorted(e["product_key"] for e in job.candidate_errors) == ["A-1", "A-2"]


def test_failed_candidates_show_in_the_progress_api_and_the_admin_job_page(
    client, campaign, banner_breaks_one_template, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)
    client.force_login(operator)

    progress = client.get(f"/api/v1/jobs/{job.pk}").json()
    page = client.get(f"/admin/campaigns/generationjob/{job.pk}/change/").content.decode()

    assert progress["state"] == "done" and progress["candidates_failed"] == 2
    assert min(progress["candidate_errors"], key=lambda e: e["product_key"]) == {
        "product_key": "A-1",
        "format": "image",
        "template_version": banner_breaks_one_template.pk,
        "template": "hero-b v1",
        "size": "728x90",
        "variant": None,
        "message": "ValueError: layer 'title' cannot be laid out on a banner",
    }
    assert "hero-b v1" in page and "728x90" in page
    assert "ValueError: layer &#x27;title&#x27; cannot be laid out on a banner" in page


def test_a_size_no_template_is_made_for_is_left_out_and_said_so(campaign, django_capture_on_commit_callbacks):
    """The only template is made for square and tall canvases: the 728x90 banner is skipped with a reason."""
    from templates_app.services import template_version_save

    template = campaign.templates.get()
    template_version_save(template=template, spec={**template.current_version.spec, "shapes": ["square", "tall"]})
    template_publish(template=template)  # campaigns use the published version, not the saved draft

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and job.failed_sets == {}
    made = Creative.objects.filter(campaign=campaign)
    assert set(made.values_list("width", "height")) == {(300, 250)} and made.count() == 2 * 2
    assert {(e["product_key"], e["size"]) for e in job.candidate_errors} == {("A-1", "728x90"), ("A-2", "728x90")}
    assert all("banner canvases" in e["message"] for e in job.candidate_errors)


def _lost_tasks_job(campaign, django_capture_on_commit_callbacks, *, stalled_for: timedelta):
    """A started job whose tasks never ran (lost with the broker), last progressed `stalled_for` ago."""
    with django_capture_on_commit_callbacks(execute=False):  # the commit's tasks are never sent
        job = generation_job_start(campaign=campaign)
    GenerationJob.objects.filter(pk=job.pk).update(progressed_at=timezone.now() - stalled_for)
    return job


def test_a_stalled_job_gets_its_unfinished_sets_again_and_finishes_with_each_once(
    campaign, django_capture_on_commit_callbacks
):
    job = _lost_tasks_job(campaign, django_capture_on_commit_callbacks, stalled_for=timedelta(minutes=20))
    creatives_generate_for_product_set(job_id=job.pk, skus=["A-1"])  # one set did finish, long ago
    GenerationJob.objects.filter(pk=job.pk).update(progressed_at=timezone.now() - timedelta(minutes=20))
    made = sorted(Creative.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True) as sent:
        resumed = generation_jobs_resume(stalled_seconds=900)

    job.refresh_from_db()
    assert resumed == {job.pk: 1} and len(sent) == 1  # only the unfinished set
    assert job.state == GenerationJob.State.DONE and job.completed_sets == ["A-1", "A-2"]
    assert set(made) <= set(Creative.objects.values_list("pk", flat=True))
    per_slot = Creative.objects.values_list("product_key", "width", "height", "variant")
    assert len(per_slot) == len(set(per_slot)) == 2 * 2 * 2


def test_a_job_that_progressed_recently_or_finished_is_left_alone(campaign, django_capture_on_commit_callbacks):
    finished = _lost_tasks_job(campaign, django_capture_on_commit_callbacks, stalled_for=timedelta(hours=2))
    GenerationJob.objects.filter(pk=finished.pk).update(state=GenerationJob.State.DONE)
    _lost_tasks_job(campaign, django_capture_on_commit_callbacks, stalled_for=timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert generation_jobs_resume(stalled_seconds=900) == {}
    assert sent == [] and not Creative.objects.exists()


def test_a_resumed_job_waits_a_whole_stall_period_before_the_next_resume(campaign, django_capture_on_commit_callbacks):
    job = _lost_tasks_job(campaign, django_capture_on_commit_callbacks, stalled_for=timedelta(minutes=20))

    with django_capture_on_commit_callbacks(execute=False):  # sent again, and lost again
        first = generation_jobs_resume(stalled_seconds=900)
        second = generation_jobs_resume(stalled_seconds=900)

    assert first == {job.pk: 2} and second == {}
    job.refresh_from_db()
    assert job.state == GenerationJob.State.RUNNING and timezone.now() - job.progressed_at < timedelta(minutes=1)


def test_a_product_sets_sizes_share_one_family_and_no_two_stored_creatives_are_equal(
    campaign, django_capture_on_commit_callbacks
):
    """Variant k of a product set is one design family at every size; no size stores the same ad twice."""
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)

    for sku in ("A-1", "A-2"):
        made = Creative.objects.filter(campaign=campaign, product_key=sku, format="image")
        for variant in range(campaign.top_k):
            row = made.filter(variant=variant)
            assert row.count() == 2  # 300x250 and 728x90
            assert len({c.family for c in row}) == 1 and row[0].family
            assert (
                len({(c.template_version_id, c.provenance["palette"]["name"], c.provenance["copy_index"]) for c in row})
                == 1
            )
        assert made.values("family").distinct().count() == campaign.top_k
        for width, height in ((300, 250), (728, 90)):
            hashes = list(made.filter(width=width, height=height).values_list("content_hash", flat=True))
            assert len(hashes) == len(set(hashes)) == campaign.top_k


def test_image_subtitles_come_from_the_product_and_say_where_they_came_from(
    campaign, django_capture_on_commit_callbacks
):
    """A down jacket's selling points are never printed on the bag beside it; the provenance names each source."""
    from campaigns.models import Product

    Product.objects.filter(sku="A-1").update(highlights=["防水面料", "可机洗"], badge="NEW")
    Product.objects.filter(sku="A-2").update(category="bags")
    campaign.copy.category_overrides = {"bags": {"subtitles": ["大容量 通勤"]}}
    campaign.copy.save()
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)

    drawn = set()
    for creative in Creative.objects.filter(campaign=campaign, product_key="A-1"):
        drawn |= {t["full_text"] for t in creative.provenance["copy_fit"]["texts"].values()}
        source = creative.provenance["copy_source"]
        assert source["subtitle"] == "A-1's highlights" and source["badge"] == "A-1's badge"
        texts = {t["full_text"] for t in creative.provenance["copy_fit"]["texts"].values()}
        assert "90% 白鹅绒" not in texts and "大容量 通勤" not in texts
    assert "防水面料 · 可机洗" in drawn  # printed where the canvas has room for a subtitle
    for creative in Creative.objects.filter(campaign=campaign, product_key="A-2"):
        source = creative.provenance["copy_source"]
        assert source["subtitle"] == "the campaign's subtitle 1 for bags"
        assert source["title"].startswith("the campaign's title ")
        texts = {t["full_text"] for t in creative.provenance["copy_fit"]["texts"].values()}
        assert "防水面料 · 可机洗" not in texts


def test_a_lifestyle_photo_competes_in_scene_templates_and_provenance_says_which_image(
    campaign, django_capture_on_commit_callbacks
):
    """A product's scene photo is shown whole (never cut out) in templates that take scenes; each creative
    records which of the product's images it shows, so the dashboards can tell them apart."""
    from campaigns.models import Product
    from campaigns.services import product_images_set
    from synthesis.photo_samples import labelled_photo

    product = Product.objects.get(sku="A-1")
    lifestyle = labelled_photo("wood", shape="mug", body_rgb=(196, 48, 43), seed=3).image
    (scene,) = product_images_set(product=product, images=[("scene", _jpeg(lifestyle))])
    campaign.top_k = 6  # room for the scene photo's families beside the main photo's (the 6th here)
    campaign.save()
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)

    made = Creative.objects.filter(campaign=campaign, product_key="A-1", format="image")
    shown = {(c.provenance["product_image"]["kind"], c.provenance["product_image"]["file"]) for c in made}
    assert ("scene", scene.file.name) in shown and ("main", product.main_image.name) in shown
    for creative in made.filter(family__startswith="s"):
        assert creative.provenance["product_image"]["kind"] == "scene"
        assert creative.template_version.template.name == "hero"  # single-hero takes scenes
    other = Creative.objects.filter(campaign=campaign, product_key="A-2")
    assert {c.provenance["product_image"]["kind"] for c in other} == {"main"}  # no scene photo of its own
