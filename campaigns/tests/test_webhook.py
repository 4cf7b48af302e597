"""A finished generation job calls the campaign's webhook: signed, retried until it answers 2xx."""

import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from campaigns.models import AdCopySet, Campaign, GenerationJob
from campaigns.services import webhook_signature
from campaigns.services.jobs import _job_mark

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    """A local HTTP server that answers the given statuses in turn and records what it got."""
    calls: list[dict] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append({"headers": dict(self.headers), "body": body})
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", calls, statuses
    server.shutdown()


def _finish(url: str, django_capture_on_commit_callbacks) -> GenerationJob:
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), webhook_url=url)
    job = GenerationJob.objects.create(campaign=campaign, product_sets_total=1, state="running")
    with django_capture_on_commit_callbacks(execute=True):
        _job_mark(job.pk, "SKU-1")
    job.refresh_from_db()
    return job


def test_a_finished_job_is_reported_once_with_a_valid_signature(receiver, django_capture_on_commit_callbacks):
    url, calls, _ = receiver

    job = _finish(url, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        _job_mark(job.pk, "SKU-1")  # the same product set again (a redelivered task): no second call

    assert len(calls) == 1 and job.webhook_status == "delivered"
    body = json.loads(calls[0]["body"])
    assert body["event"] == "generation_job.finished" and body["job"]["id"] == job.pk
    assert body["job"]["state"] == "done" and body["job"]["product_sets_done"] == 1
    assert body["job"]["candidates_failed"] == 0
    signature = calls[0]["headers"]["X-Creative-Admin-Signature"]
    timestamp = int(signature.split(",")[0].removeprefix("t="))
    expected = webhook_signature(secret=job.campaign.webhook_secret, timestamp=timestamp, body=calls[0]["body"])
    assert hmac.compare_digest(signature, expected)
    forged = webhook_signature(secret="not-the-secret", timestamp=timestamp, body=calls[0]["body"])
    assert signature != forged


def test_a_failing_receiver_is_retried_until_it_answers(receiver, django_capture_on_commit_callbacks):
    url, calls, statuses = receiver
    statuses.extend([500, 503])

    job = _finish(url, django_capture_on_commit_callbacks)

    assert len(calls) == 3 and job.webhook_status == "delivered" and job.webhook_attempts == 3


def test_a_receiver_that_never_answers_is_given_up_on_and_recorded(receiver, django_capture_on_commit_callbacks):
    url, calls, statuses = receiver
    statuses.extend([500] * 20)

    job = _finish(url, django_capture_on_commit_callbacks)

    assert len(calls) == 7  # the first try and 6 retries
    assert job.webhook_status == "failed: not_accepted (gave up after 7 attempts)"


def test_each_campaign_has_its_own_secret():
    copy = AdCopySet.objects.create(name="a", titles=["x"])
    a, b = Campaign.objects.create(name="a", copy=copy), Campaign.objects.create(name="b", copy=copy)
    assert len(a.webhook_secret) == 64 and a.webhook_secret != b.webhook_secret
