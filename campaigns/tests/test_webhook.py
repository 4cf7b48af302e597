"""A finished generation job calls the campaign's webhook: signed, retried until it answers 2xx."""

import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from campaigns.models import AdCopySet, Campaign, GenerationJob
from campaigns.services import campaign_webhook_ping, campaign_webhook_secret_rotate, webhook_signature
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
            calls.append({"headers": dict(self.headers), "body": body, "path": self.path})
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


def _webhook_rows(page: str) -> list[list[str]]:
    """The cells of each row of the job page's webhook events table, as an operator reads them."""
    table = re.search(r'<table class="webhook-events">.*?</table>', page, re.S)
    body = table.group(0).split("<tbody>", 1)[1] if table else ""
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_job_page_shows_the_event_id_the_receiver_got_and_its_delivery(
    client, operator, receiver, django_capture_on_commit_callbacks
):
    # Must hold: an operator matching the receiver's logs finds, on the job's admin page, the event's id
    # (the body's "id"), its type, its delivery status and how many attempts it took.
    url, calls, statuses = receiver
    statuses.append(503)
    job = _finish(url, django_capture_on_commit_callbacks)
    client.force_login(operator)

    page = client.get(f"/admin/campaigns/generationjob/{job.pk}/change/").content.decode()

    event_id = json.loads(calls[-1]["body"])["id"]
    assert _webhook_rows(page) == [[event_id, "generation_job.finished", "delivered", "2"]]


def test_the_job_page_of_a_campaign_without_a_webhook_lists_no_event(client, operator):
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    job = GenerationJob.objects.create(campaign=campaign, product_sets_total=1, state="done")
    client.force_login(operator)

    page = client.get(f"/admin/campaigns/generationjob/{job.pk}/change/").content.decode()

    assert "Webhook events" in page and _webhook_rows(page) == [] and "evt_" not in page


def test_each_campaign_has_its_own_secret():
    copy = AdCopySet.objects.create(name="a", titles=["x"])
    a, b = Campaign.objects.create(name="a", copy=copy), Campaign.objects.create(name="b", copy=copy)
    assert len(a.webhook_secret) == 64 and a.webhook_secret != b.webhook_secret


def _signatures(header: str) -> tuple[int, list[str]]:
    """(t, [every v1]) of a signature header, read as a receiver following docs/webhooks.md does."""
    parts = [p.split("=", 1) for p in header.split(",")]
    return int(dict(parts)["t"]), [v for k, v in parts if k == "v1"]


def _verifies(call: dict, secret: str) -> bool:
    timestamp, signatures = _signatures(call["headers"]["X-Creative-Admin-Signature"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + call["body"], "sha256").hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def test_the_job_event_is_stripe_shaped_with_one_id_across_retries(receiver, django_capture_on_commit_callbacks):
    # Must hold: the body is {"id": "evt_...", "object": "event", "type", "created", "data": {"object"}}
    # with `created` the job's finish time, and a retried delivery carries the same event id (receivers
    # drop repeats by it); the fields receivers already read ("event", "job") are still there.
    url, calls, statuses = receiver
    statuses.append(500)

    job = _finish(url, django_capture_on_commit_callbacks)

    first, second = (json.loads(c["body"]) for c in calls)
    assert first["id"].startswith("evt_") and first["id"] == second["id"]
    assert (first["object"], first["type"]) == ("event", "generation_job.finished")
    assert first["created"] == int(job.finished_at.timestamp())
    assert first["data"]["object"]["object"] == "generation_job" and first["data"]["object"]["id"] == job.pk
    assert first["event"] == "generation_job.finished" and first["job"]["id"] == job.pk


def test_a_rotated_secret_signs_with_both_secrets_during_the_grace_period(
    receiver, settings, django_capture_on_commit_callbacks
):
    # Must hold: after a rotation a call verifies with the new secret and, for WEBHOOK_SECRET_GRACE_SECONDS,
    # with the old one too (`t=...,v1=<new>,v1=<old>`), so a receiver can switch without missing a call;
    # once the grace period is over only the new secret verifies.
    url, calls, _ = receiver
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), webhook_url=url)
    old = campaign.webhook_secret

    new = campaign_webhook_secret_rotate(campaign=campaign)
    campaign_webhook_ping(campaign=campaign)
    settings.WEBHOOK_SECRET_GRACE_SECONDS = 0
    campaign_webhook_ping(campaign=campaign)

    during, after = calls
    assert new != old and Campaign.objects.get(pk=campaign.pk).webhook_secret == new
    assert len(_signatures(during["headers"]["X-Creative-Admin-Signature"])[1]) == 2
    assert _verifies(during, new) and _verifies(during, old)
    assert _verifies(after, new) and not _verifies(after, old)


def test_the_api_rotates_the_secret_and_shows_it_once(client, operator):
    # Must hold: the rotate answer is the only place the new secret is shown in full; the campaign's page masks it.
    client.force_login(operator)
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]))

    rotated = client.post(f"/api/v1/campaigns/{campaign.pk}/rotate-webhook-secret/").json()
    shown = client.get(f"/api/v1/campaigns/{campaign.pk}/").json()["webhook_secret"]

    campaign.refresh_from_db()
    assert rotated["webhook_secret"] == campaign.webhook_secret and rotated["previous_secret_valid_until"]
    assert campaign.webhook_secret not in shown and shown.endswith(campaign.webhook_secret[-4:])


def test_a_test_ping_is_sent_signed_from_the_api(client, operator, receiver):
    # Must hold: POST webhook-test sends a signed Stripe-shaped `ping` event now and says it was delivered.
    url, calls, _ = receiver
    client.force_login(operator)
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), webhook_url=url)

    response = client.post(f"/api/v1/campaigns/{campaign.pk}/webhook-test")

    body = json.loads(calls[0]["body"])
    assert response.status_code == 200 and response.json() == {"event_id": body["id"], "status": "delivered"}
    assert (body["type"], body["object"], body["data"]["object"]["id"]) == ("ping", "event", campaign.pk)
    assert _verifies(calls[0], campaign.webhook_secret)


def test_a_webhook_url_with_non_ascii_letters_is_called_percent_encoded(client, operator, receiver):
    # Must hold: a URL a browser would call (a path or query with accented letters or spaces) is called the
    # way a browser sends it, percent-encoded, not refused by the HTTP client with a server error; escapes
    # already in it are kept as they are.
    url, calls, _ = receiver
    client.force_login(operator)
    campaign = Campaign.objects.create(
        name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), webhook_url=f"{url}/é d%2F?shop=Café"
    )

    response = client.post(f"/api/v1/campaigns/{campaign.pk}/webhook-test")

    assert response.status_code == 200 and response.json()["status"] == "delivered"
    assert calls[0]["path"] == "/hook/%C3%A9%20d%2F?shop=Caf%C3%A9"


def test_a_test_ping_reports_a_failure_by_its_code_only(client, operator, receiver):
    # Must hold: a receiver that refuses the ping is reported as "failed: not_accepted", never its own answer;
    # a campaign without a webhook URL is told so (400 no_webhook).
    url, _, statuses = receiver
    statuses.append(418)
    client.force_login(operator)
    copy = AdCopySet.objects.create(name="a", titles=["x"])
    hooked = Campaign.objects.create(name="c", copy=copy, webhook_url=url)
    bare = Campaign.objects.create(name="d", copy=copy)

    refused = client.post(f"/api/v1/campaigns/{hooked.pk}/webhook-test")
    without = client.post(f"/api/v1/campaigns/{bare.pk}/webhook-test")

    assert refused.json()["status"] == "failed: not_accepted"
    assert (without.status_code, without.json()["code"]) == (400, "no_webhook")


def test_the_admin_rotates_the_secret_and_sends_a_test_ping(client, operator, receiver):
    # Must hold: the admin's actions show the new secret once (in the message) and send the ping.
    url, calls, _ = receiver
    client.force_login(operator)
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), webhook_url=url)

    rotated = client.post(
        "/admin/campaigns/campaign/",
        {"action": "rotate_webhook_secret", "_selected_action": [campaign.pk]},
        follow=True,
    )
    pinged = client.post(
        "/admin/campaigns/campaign/", {"action": "webhook_test", "_selected_action": [campaign.pk]}, follow=True
    )

    campaign.refresh_from_db()
    assert campaign.webhook_secret in rotated.content.decode()
    assert "delivered" in pinged.content.decode() and json.loads(calls[0]["body"])["type"] == "ping"
