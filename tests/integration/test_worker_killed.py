"""A worker process SIGKILLed mid-job: the job still finishes, with no duplicate and no missing creative."""

import io
import json
import os
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
from campaigns.services import generation_job_start, product_upsert
from synthesis.samples import product_photo
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _pool_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_killed_pool_process_loses_nothing_and_duplicates_nothing(celery_worker_process):
    template = template_publish(
        template=template_create(name="hero-kill", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    )
    sizes = [[1080, 1080], [1200, 628], [728, 90]]
    placement = Placement.objects.create(name="feed-kill", channel="dsp", sizes=sizes)
    campaign = Campaign.objects.create(
        name="Kill test",
        copy=AdCopySet.objects.create(name="k", titles=["冬季羽绒服 限时直降", "轻薄保暖"]),
        top_k=2,
        candidates_per_size=40,
    )
    campaign.templates.add(template)
    campaign.placements.add(placement)
    for i in range(6):
        buf = io.BytesIO()
        product_photo((40 * i % 255, 80, 160), size=400, seed=i).image.save(buf, format="JPEG")
        campaign.products.add(product_upsert(sku=f"K-{i}", title="x", price=Decimal("9"), image_data=buf.getvalue()))

    job = generation_job_start(campaign=campaign)

    # Wait until work is under way, then SIGKILL a pool process in the middle of a task.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not Creative.objects.filter(campaign=campaign).exists():
        time.sleep(0.05)
    children = _pool_children(celery_worker_process.pid)
    assert children, "the worker has no pool processes to kill"
    os.kill(children[0], signal.SIGKILL)

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in (GenerationJob.State.DONE, GenerationJob.State.FAILED):
            break
        time.sleep(0.5)
    assert job.state == GenerationJob.State.DONE, (job.state, job.completed_sets, job.failed_sets)
    assert sorted(job.completed_sets) == [f"K-{i}" for i in range(6)] and not job.failed_sets
    keys = list(Creative.objects.filter(campaign=campaign).values_list("product_key", "width", "height", "variant"))
    assert len(keys) == len(set(keys)) == 6 * len(sizes) * 2
    # The kill really happened. The worker logs it when it reaps the process, which can come after the
    # job is done: the set the killed process held may already have been stored, its task not yet acked.
    killed = f"pid:{children[0]} exited with 'signal 9 (SIGKILL)'"
    deadline = time.monotonic() + 30
    while killed not in celery_worker_process.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert killed in celery_worker_process.log_path.read_text()
