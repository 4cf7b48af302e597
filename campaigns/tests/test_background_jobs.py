"""Generation that never blocks a page: with no broker, a job runs on a background thread of the web
process (CREATIVE_JOBS_IN_BACKGROUND); the button's request returns at once, the job still finishes,
a crashed set is recorded, and a job a stopped process left running is resumed when someone looks at it.

Transactional: the job's tasks are sent when its transaction commits and run on another thread,
which sees only committed rows.
"""

import threading
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

import campaigns.services
from campaigns.models import Campaign, GenerationJob
from campaigns.services import generation_job_resume_orphaned
from campaigns.tests.test_campaign_buttons import campaign  # noqa: F401  (the fixture)
from creativeadmin.background import background_wait

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media", "role_groups")]


@pytest.fixture
def role_groups(transactional_db):
    """A flushed database lost the roles its data migration made: put them back."""
    from importlib import import_module

    from django.apps import apps

    from accounts.roles import sync_role_groups

    sync_role_groups(apps, import_module("accounts.migrations.0004_pool_permissions").TABLE)


@pytest.fixture
def in_background(settings):
    settings.CREATIVE_JOBS_IN_BACKGROUND = True
    yield
    assert background_wait(timeout=120), "background work outlived its test"


@pytest.fixture
def gate(monkeypatch):
    """Generation waits until the test opens the gate (so the test sees the job while it runs)."""
    opened = threading.Event()
    generate = campaigns.services.creatives_generate_for_product_set

    def gated(**kwargs):
        assert opened.wait(timeout=60), "the test never opened the gate"
        return generate(**kwargs)

    monkeypatch.setattr(campaigns.services, "creatives_generate_for_product_set", gated)
    return opened


def _said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.usefixtures("in_background")
def test_generate_returns_while_the_job_runs_and_the_job_then_finishes(client, operator, campaign, gate):  # noqa: F811
    # Given an operator, and generation held back until the test lets it go
    client.force_login(operator)

    # When they press Generate
    response = client.post(f"/admin/campaigns/campaign/{campaign.pk}/generate/")

    # Then the answer comes while the job is still running, and says so
    job = GenerationJob.objects.get(campaign=campaign)
    assert response.status_code == 302 and job.state == GenerationJob.State.RUNNING
    assert _said(response) == [
        f"Winter: generation job {job.pk} started (1 product set(s)); "
        "its progress shows on the campaign's page, which says when it is done."
    ]
    # and once generation may go on, the job finishes by itself and the campaign waits for review
    gate.set()
    assert background_wait(timeout=120)
    job.refresh_from_db()
    campaign.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and job.progress == 1.0
    assert campaign.status == Campaign.Status.REVIEW and campaign.creatives.count() == 1


@pytest.mark.usefixtures("in_background")
def test_generate_while_a_job_runs_is_refused_and_starts_no_second_job(client, operator, campaign, gate):  # noqa: F811
    # Given a job that is still running
    client.force_login(operator)
    client.post(f"/admin/campaigns/campaign/{campaign.pk}/generate/")
    job = GenerationJob.objects.get(campaign=campaign)
    assert job.state == GenerationJob.State.RUNNING

    # When the operator presses Generate again, and a program asks the API for the same
    again = client.post(f"/admin/campaigns/campaign/{campaign.pk}/generate/")
    api = client.post(f"/api/v1/campaigns/{campaign.pk}/generate")

    # Then both are refused, saying which job runs, and no second job makes the same creatives again
    assert _said(again)[-1] == (
        f"Winter is already being generated (job {job.pk}, 0 of 1 product set(s) done): wait for it to finish."
    )
    assert api.status_code == 409, api.content
    assert api.json()["code"] == "generation_running" and api.json()["extra"] == {"job": job.pk}
    assert GenerationJob.objects.filter(campaign=campaign).count() == 1
    # and once the job has finished, Generate starts a new one
    gate.set()
    assert background_wait(timeout=120)
    client.post(f"/admin/campaigns/campaign/{campaign.pk}/generate/")
    assert background_wait(timeout=120)
    assert GenerationJob.objects.filter(campaign=campaign).count() == 2
    assert campaign.creatives.count() == 1  # the same slot, made once


@pytest.mark.usefixtures("in_background")
def test_a_set_whose_task_crashed_is_recorded_so_the_job_still_finishes(operator, campaign, monkeypatch):  # noqa: F811
    def crash(**kwargs):
        raise RuntimeError("the engine fell over")

    monkeypatch.setattr(campaigns.services, "creatives_generate_for_product_set", crash)

    job = campaigns.services.generation_job_start(campaign=campaign, requested_by=operator)
    assert background_wait(timeout=60)

    job.refresh_from_db()
    assert job.state == GenerationJob.State.FAILED
    assert job.failed_sets == {"A-1": "RuntimeError: the engine fell over"}


def _orphan(campaign, *, progressed_ago: timedelta) -> GenerationJob:  # noqa: F811
    """A job recorded as running, as a process that stopped mid-job leaves it."""
    return GenerationJob.objects.create(
        campaign=campaign,
        product_sets=[["A-1"]],
        product_sets_total=1,
        state=GenerationJob.State.RUNNING,
        progressed_at=timezone.now() - progressed_ago,
    )


@pytest.mark.usefixtures("in_background")
def test_a_job_left_running_by_a_stopped_process_is_resumed_when_its_progress_is_asked(client, operator, campaign):  # noqa: F811
    # Given a job that last progressed before this process started (its thread died with its process)
    job = _orphan(campaign, progressed_ago=timedelta(hours=1))
    client.force_login(operator)

    # When its progress is polled (the campaign's page does, every second)
    first = client.get(f"/api/v1/jobs/{job.pk}").json()

    # Then it is running again here, and finishes
    assert first["state"] == "running"
    assert background_wait(timeout=120)
    assert client.get(f"/api/v1/jobs/{job.pk}").json()["state"] == "done"
    assert campaign.creatives.count() == 1


@pytest.mark.usefixtures("in_background")
def test_the_campaign_page_resumes_its_orphaned_job_too(client, operator, campaign):  # noqa: F811
    job = _orphan(campaign, progressed_ago=timedelta(hours=1))
    client.force_login(operator)

    client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")

    assert background_wait(timeout=120)
    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE


@pytest.mark.usefixtures("in_background")
def test_a_job_that_progressed_in_this_process_is_not_resumed(campaign):  # noqa: F811
    job = _orphan(campaign, progressed_ago=timedelta(seconds=-1))  # progressed after this process started

    assert generation_job_resume_orphaned(job=job) is False


def test_with_a_broker_nothing_is_resumed_on_a_look(settings, campaign):  # noqa: F811
    settings.CREATIVE_JOBS_IN_BACKGROUND = False  # a broker's worker (and the beat's resume) own the job
    job = _orphan(campaign, progressed_ago=timedelta(hours=1))

    assert generation_job_resume_orphaned(job=job) is False
    job.refresh_from_db()
    assert job.state == GenerationJob.State.RUNNING and job.progressed_at < timezone.now() - timedelta(minutes=59)


def test_generate_inline_says_the_job_is_done(client, operator, campaign):  # noqa: F811
    # Given jobs run inline (the tests' default, like Celery's eager mode)
    client.force_login(operator)

    response = client.post(f"/admin/campaigns/campaign/{campaign.pk}/generate/")

    # Then the job has finished when the answer comes, and the message says so (not "started")
    job = GenerationJob.objects.get(campaign=campaign)
    assert _said(response) == [f"Winter: generation job {job.pk} is done: 1 of 1 product set(s) made."]
    assert job.state == GenerationJob.State.DONE and campaign.creatives.count() == 1
