"""Storage answering 503 a few times: the generation task retries with backoff and succeeds; a bad
product (a validation error) is recorded on the job and never retried."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.core.files.storage import FileSystemStorage
from PIL import Image

from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
from campaigns.services import generation_job_start, product_upsert
from synthesis.samples import product_photo
from templates_app.services import template_create, template_publish

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


class FlakyStorage(FileSystemStorage):
    """Local storage that answers like S3 under load (503 SlowDown) for its first `failures` writes."""

    failures = 0
    attempts = 0
    fine_first = 0  # writes that succeed before the failures begin

    def _save(self, name, content):
        FlakyStorage.attempts += 1
        if FlakyStorage.attempts > FlakyStorage.fine_first and FlakyStorage.failures > 0:
            FlakyStorage.failures -= 1
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Reduce your request rate."},
                 "ResponseMetadata": {"HTTPStatusCode": 503}},
                "PutObject",
            )  # fmt: skip
        return super()._save(name, content)


@pytest.fixture
def campaign(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.FlakyStorage", "OPTIONS": {"location": str(tmp_path / "media")}},
    }
    FlakyStorage.failures, FlakyStorage.attempts, FlakyStorage.fine_first = 0, 0, 0
    spec = json.loads((SHIPPED / "single-hero.json").read_text())
    campaign = Campaign.objects.create(
        name="c", copy=AdCopySet.objects.create(name="a", titles=["冬季上新"]), top_k=1, candidates_per_size=4
    )
    campaign.templates.add(template_publish(template=template_create(name="hero", spec=spec)))
    campaign.placements.add(Placement.objects.create(name="p", channel="dsp", sizes=[[300, 250]]))
    buf = io.BytesIO()
    product_photo((178, 34, 52), size=300).image.save(buf, format="JPEG")
    campaign.products.add(product_upsert(sku="S-1", title="t", price=Decimal("9"), image_data=buf.getvalue()))
    return campaign


def test_transient_storage_errors_are_retried_until_the_creative_is_stored(
    campaign, django_capture_on_commit_callbacks
):
    FlakyStorage.failures, FlakyStorage.attempts = 3, 0  # S3 answers 503 three times

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and job.failed_sets == {}
    creative = Creative.objects.get(campaign=campaign)
    assert creative.file and Image.open(creative.file.path).size == (300, 250)
    assert FlakyStorage.attempts == 5  # three refused writes, then the thumbnail and the image


def test_a_validation_error_is_recorded_not_retried(campaign, django_capture_on_commit_callbacks):
    from campaigns.models import Product

    Product.objects.filter(sku="S-1").update(main_image="products/missing.jpg")  # its image is gone
    FlakyStorage.attempts = 0

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.FAILED and "S-1" in job.failed_sets
    assert FlakyStorage.attempts == 0  # nothing was written, nothing retried


def test_storage_down_for_good_fails_the_product_set_and_the_job_still_finishes(
    campaign, django_capture_on_commit_callbacks
):
    FlakyStorage.failures, FlakyStorage.attempts = 100, 0

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    job.refresh_from_db()
    assert FlakyStorage.attempts == 5  # the first try and 4 retries
    assert job.state == GenerationJob.State.FAILED
    assert job.failed_sets["S-1"].startswith("storage kept failing: Storage answered 503 SlowDown")


def test_storage_failing_midway_through_a_sets_images_stores_none_of_them_and_the_retry_stores_all(
    campaign, django_capture_on_commit_callbacks
):
    """A set's images are stored together (one commit, not two per creative): all or none."""
    from campaigns.services import creatives_generate_for_product_set

    campaign.placements.update(sizes=[[300, 250], [728, 90]])
    with django_capture_on_commit_callbacks(execute=False):  # the job, without running its task
        job = generation_job_start(campaign=campaign)
    FlakyStorage.attempts, FlakyStorage.fine_first, FlakyStorage.failures = 0, 2, 1  # the 2nd image's 1st file

    with pytest.raises(OSError):
        creatives_generate_for_product_set(job_id=job.pk, skus=["S-1"])
    assert not Creative.objects.filter(campaign=campaign).exists()

    creatives_generate_for_product_set(job_id=job.pk, skus=["S-1"])
    sizes = sorted(Creative.objects.filter(campaign=campaign).values_list("width", "height"))
    assert sizes == [(300, 250), (728, 90)]
