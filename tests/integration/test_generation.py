"""A campaign generated through Redis by a real worker process, into PostgreSQL and storage."""

import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
from campaigns.services import generation_job_start, product_upsert
from synthesis.samples import product_photo
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def test_worker_generates_every_creative_exactly_once(celery_worker_process):
    template = template_publish(
        template=template_create(name="hero-it", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    )
    placement = Placement.objects.create(name="feed-it", channel="recommendation", sizes=[[300, 250], [728, 90]])
    campaign = Campaign.objects.create(
        name="Integration",
        copy=AdCopySet.objects.create(name="c", titles=["冬季羽绒服 限时直降"]),
        top_k=1,
        candidates_per_size=6,
    )
    campaign.templates.add(template)
    campaign.placements.add(placement)
    for i, colour in enumerate([(178, 34, 52), (31, 58, 110), (46, 125, 90)]):
        buf = io.BytesIO()
        product_photo(colour, size=300, seed=i).image.save(buf, format="JPEG")
        campaign.products.add(
            product_upsert(sku=f"IT-{i}", title="羽绒服", price=Decimal("99"), image_data=buf.getvalue())
        )

    job = generation_job_start(campaign=campaign)

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in (GenerationJob.State.DONE, GenerationJob.State.FAILED):
            break
        time.sleep(0.5)
    assert job.state == GenerationJob.State.DONE, (job.state, job.failed_sets)
    creatives = Creative.objects.filter(campaign=campaign)
    assert creatives.count() == 3 * 2  # product sets x sizes x top 1
    keys = list(creatives.values_list("product_key", "width", "height", "variant"))
    assert len(keys) == len(set(keys))
    first = creatives.first()
    with first.file.open("rb") as fh:
        assert Image.open(io.BytesIO(fh.read())).size == (first.width, first.height)
