"""Idempotency-Key on the operations that make something (issue 19): a retried request does its work once.

Stripe's semantics: the same key and request within 24 h answers the first success again; the same key with
another request is 422; a request still running with the key is 409; a refusal gives the key back.
"""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import IdempotencyKey
from accounts.services import IdempotencyKeyInUse, idempotency_claim
from campaigns.models import AdCopySet, Campaign, GenerationJob, Placement
from campaigns.tests.factories import ProductFactory
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"
KEY = "7f9c2ba4-e88f-4e2b-9c3a-0d5b1f6c2a11"


@pytest.fixture
def copy():
    return AdCopySet.objects.create(name="winter", titles=["Winter sale"])


@pytest.fixture
def ready_campaign(copy):
    template = template_publish(
        template=template_create(name="hero", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    )
    campaign = Campaign.objects.create(name="Winter", copy=copy)
    campaign.templates.add(template)
    campaign.placements.add(Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]]))
    campaign.products.add(ProductFactory())
    return campaign


def _post(client, path, body=None, key=KEY):
    return client.post(path, body or {}, "application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retried_generate_with_the_same_key_starts_one_job_and_answers_it_again(
    client, operator, ready_campaign, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    path = f"/api/v1/campaigns/{ready_campaign.pk}/generate"

    with django_capture_on_commit_callbacks(execute=False):  # the work is the job row; its tasks are not run here
        first = _post(client, path)
        retry = _post(client, path)

    assert first.status_code == retry.status_code == 202
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert GenerationJob.objects.count() == 1


def test_the_same_key_with_another_body_is_refused_422_and_makes_nothing(client, operator, copy):
    client.force_login(operator)
    body = {"name": "Winter", "copy": copy.pk, "products": [], "templates": [], "placements": []}

    first = _post(client, "/api/v1/campaigns/", body)
    other = _post(client, "/api/v1/campaigns/", {**body, "name": "Summer"})

    assert first.status_code == 201
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Winter"]


def test_a_replayed_create_answers_the_first_answer_and_its_location(client, operator, copy):
    client.force_login(operator)
    body = {"name": "Winter", "copy": copy.pk, "products": [], "templates": [], "placements": []}

    first = _post(client, "/api/v1/campaigns/", body)
    retry = _post(client, "/api/v1/campaigns/", body)

    assert retry.status_code == 201 and retry.json() == first.json()  # the webhook secret in full, as the first time
    assert retry["Location"] == first["Location"]
    assert Campaign.objects.count() == 1


def test_a_retry_that_spells_the_path_without_its_slash_is_the_same_request(client, operator):
    client.force_login(operator)
    body = {"name": "winter", "titles": ["Winter sale"]}

    first = _post(client, "/api/v1/ad-copy/", body)
    retry = _post(client, "/api/v1/ad-copy", body)

    assert first.status_code == retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert AdCopySet.objects.count() == 1


def test_a_refused_request_gives_its_key_back_for_the_corrected_one(client, operator):
    client.force_login(operator)

    refused = _post(client, "/api/v1/ad-copy/", {"name": "winter", "titles": []})
    corrected = _post(client, "/api/v1/ad-copy/", {"name": "winter", "titles": ["Winter sale"]})

    assert refused.status_code == 400 and corrected.status_code == 201
    assert AdCopySet.objects.count() == 1


def test_keys_are_each_persons_own_and_expire_after_a_day(client, operator, django_user_model):
    colleague = django_user_model.objects.create_user(username="colleague", password="x", is_staff=True)
    colleague.groups.set(operator.groups.all())
    body = {"name": "feed", "channel": "dsp", "sizes": [[300, 250]]}
    client.force_login(operator)
    first = _post(client, "/api/v1/placements/", body)
    client.force_login(colleague)

    theirs = _post(client, "/api/v1/placements/", {**body, "name": "feed 2"})  # same key, another person
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    client.force_login(operator)
    after_a_day = _post(client, "/api/v1/placements/", {**body, "name": "feed 3"})

    assert first.status_code == theirs.status_code == after_a_day.status_code == 201
    assert Placement.objects.count() == 3


def test_a_key_whose_request_is_still_running_is_refused_409(operator):
    idempotency_claim(user=operator, key=KEY, fingerprint="f")

    with pytest.raises(IdempotencyKeyInUse):
        idempotency_claim(user=operator, key=KEY, fingerprint="f")


def test_a_malformed_key_is_a_400_naming_the_header(client, operator, copy):
    client.force_login(operator)

    response = _post(client, "/api/v1/ad-copy/", {"name": "w", "titles": ["t"]}, key="ключ")

    assert response.status_code == 400 and "Idempotency-Key" in response.json()["extra"]["fields"]
    assert not AdCopySet.objects.filter(name="w").exists()


@pytest.mark.parametrize(
    "body, content_type",
    [
        ({}, "multipart/form-data; boundary=BoUnDaRy"),  # the test client's empty form: only the closing boundary
        ("", "application/x-www-form-urlencoded"),
        ("csrfmiddlewaretoken=", "application/x-www-form-urlencoded"),  # an empty HTML form, as browsers send it
    ],
    ids=["empty multipart", "no body", "empty form"],
)
def test_generate_with_a_key_and_an_empty_form_starts_the_job_as_a_json_body_does(
    client, operator, ready_campaign, django_capture_on_commit_callbacks, body, content_type
):
    # Generate takes no body (its schema has none), so a form is not refused 415 for being a form.
    client.force_login(operator)
    path = f"/api/v1/campaigns/{ready_campaign.pk}/generate"

    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(path, body, content_type, HTTP_IDEMPOTENCY_KEY=KEY)
        retry = _post(client, path)  # the same key, retried with a JSON body: the same request

    assert first.status_code == retry.status_code == 202
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert GenerationJob.objects.count() == 1
