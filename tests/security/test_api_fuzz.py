"""Every API operation fuzzed against the project's own OpenAPI schema (issue 8): no 5xx, conformant answers.

The schema is the one the site serves at /api/schema/, loaded in-process through the WSGI
application; schemathesis generates valid and invalid requests for each operation and sends
them through the same application. Cookie operations go out with a real session (mostly the
superuser's, sometimes a role's, so refusals are fuzzed too) and a CSRF token; placement
operations with the key of a real placement. Path ids, product skus, sizes and tracking tokens
are steered to objects that exist most of the time, so requests reach the services instead
of stopping at a 404. Each request runs in a savepoint rolled back afterwards: every example
sees the same world.

Checks: no 5xx; the status code, content type, headers and body are the ones the schema
documents for that status.

Short form (CI): FUZZ_EXAMPLES examples per operation, 15 by default, derandomised.
Long form: `make fuzz` (FUZZ_EXAMPLES=1000, a fresh random seed each run).
"""

import base64
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core import signing
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.roles import ANALYSTS, DESIGNERS, OPERATORS
from campaigns.models import AdCopySet, Campaign, GenerationJob, Placement, ProductPool
from campaigns.services import product_upsert
from campaigns.serving import TRACKING_SALT, placement_key_issue
from campaigns.tests.factories import CreativeFactory
from creativeadmin.wsgi import application
from synthesis.samples import product_photo
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
LONG_FORM = EXAMPLES >= 100
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Operations whose answers are known to break the schema, each with the issue that fixes it. A listed
# operation is still fuzzed for 5xx; only the named checks are left out for it.
KNOWN_NONCONFORMANT: dict[str, tuple[list, str]] = {}


# --- the world the requests name ------------------------------------------------------------------------


class World:
    """Real rows for every kind of id the API takes, a session per role and a placement key."""

    def __init__(self, django_user_model):
        spec = json.loads((SHIPPED / "single-hero.json").read_text())
        self.template = Template.objects.create(name="Live hero", status=Template.Status.PUBLISHED)
        for number in (1, 2):
            version = TemplateVersion.objects.create(template=self.template, number=number, spec=spec)
        self.template.current_version = version
        self.template.published_version = version
        self.template.save()
        photo = io.BytesIO()
        product_photo((178, 34, 52), size=200).image.save(photo, format="JPEG")
        self.photo = photo.getvalue()
        self.product = product_upsert(sku="YX-1", title="羽绒服", price=699, image_data=self.photo)
        self.placement = Placement.objects.create(
            name="feed", channel=Placement.Channel.RECOMMENDATION, sizes=[[300, 250]]
        )
        self.key = placement_key_issue(placement=self.placement)
        copy = AdCopySet.objects.create(name="winter", titles=["Winter sale"])
        self.campaign = Campaign.objects.create(
            name="Winter sale", status=Campaign.Status.LIVE, copy=copy, landing_url="https://shop.example.com/w"
        )
        self.campaign.products.add(self.product)
        self.campaign.templates.add(self.template)
        self.campaign.placements.add(self.placement)
        self.creative = CreativeFactory(
            campaign=self.campaign,
            product_key=self.product.sku,
            template_version=version,
            file="creatives/yx-1.jpg",
            content_hash="yx-1",
            aesthetic_score=70.0,
        )
        self.job = GenerationJob.objects.create(campaign=self.campaign, product_sets_total=1)
        self.pool = ProductPool.objects.create(name="interest")
        self.copy = copy
        self.ids = {
            "templates": self.template.pk,
            "campaigns": self.campaign.pk,
            "jobs": self.job.pk,
            "placements": self.placement.pk,
            "pools": self.pool.pk,
            "ad-copy": copy.pk,
            "serve": self.placement.pk,
            "creatives": self.creative.pk,
        }
        self.csrf = get_random_string(32)
        self.sessions = {
            role: self._session(django_user_model, role, group)
            for role, group in (
                ("admin", None),
                ("designer", DESIGNERS),
                ("operator", OPERATORS),
                ("analyst", ANALYSTS),
            )
        }

    @staticmethod
    def _session(django_user_model, username, group):
        user = django_user_model.objects.create_user(username=username, password=None, is_staff=True)  # no hashing
        if group is None:
            user.is_superuser = True
            user.save()
        else:
            user.groups.add(Group.objects.get(name=group))
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    def path_parameters(self, operation) -> dict:
        """The real object each of the operation's path parameters can name."""
        collection = operation.path.removeprefix("/api/v1/").split("/")[0]
        values = {"id": self.ids.get(collection), "placement_id": self.placement.pk, "sku": self.product.sku}
        values["number"] = 2
        names = {p.name for p in operation.path_parameters}
        return {name: values[name] for name in names if values.get(name) is not None}

    def token(self, kind: str) -> str:
        payload = {"c": self.creative.pk, "p": self.placement.pk, "s": "serve-1", "e": kind}
        return signing.dumps(payload, salt=TRACKING_SALT, compress=True)


@pytest.fixture
def world(django_user_model, media):
    return World(django_user_model)


@pytest.fixture
def in_process_requests():
    """Requests through the WSGI application inside the test's transaction.

    Django closes a connection at the start and end of each request when it is not in autocommit
    mode, which would end the test's transaction; its test client disconnects the same receivers.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# --- steering: real values where the schema can only say "a string" -----------------------------------


def _steer(case, world: World, data) -> None:
    """Replace some generated values by ones that name real objects (the generated ones stay possible)."""
    body = case.body if isinstance(case.body, dict) else None
    label = f"{case.method} {case.operation.path}"
    if label == "POST /api/v1/templates/{id}/preview" and body is not None:
        body["product_skus"] = [world.product.sku]
        body.update(width=data.draw(st.integers(50, 400)), height=data.draw(st.integers(50, 400)))
    elif label == "GET /api/v1/serve/{placement_id}" and isinstance(case.query, dict):
        case.query["size"] = "300x250"
    elif label == "POST /api/v1/conversions" and body is not None:
        body["click_token"] = world.token("click")
    elif label == "POST /api/v1/events/batch" and body is not None and isinstance(body.get("events"), list):
        for event in body["events"]:
            if isinstance(event, dict):
                event["kind"] = data.draw(st.sampled_from(["impression", "click"]))
                event["token"] = world.token(event["kind"])
                event["occurred_at"] = datetime.now(UTC).isoformat()
    elif label in ("POST /api/v1/campaigns/", "PUT /api/v1/campaigns/{id}/") and body is not None:
        body.update(products=[world.product.sku], templates=[world.template.pk], placements=[world.placement.pk])
        body["copy"] = world.copy.pk
    elif label == "POST /api/v1/creatives/review/" and body is not None:
        body["ids"] = [world.creative.pk]
        if isinstance(body.get("filter"), dict):
            body["filter"]["campaign"] = world.campaign.pk
    elif label == "GET /api/v1/creatives/" and isinstance(case.query, dict):
        case.query["campaign"] = world.campaign.pk
    elif label in ("POST /api/v1/products/", "PUT /api/v1/products/{sku}/") and body is not None:
        body["image"] = base64.b64encode(world.photo).decode()


# --- the test ---------------------------------------------------------------------------------------------


def _strategy(operation, world: World):
    modes = st.sampled_from([GenerationMode.POSITIVE, GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    real = world.path_parameters(operation)

    def cases(mode):
        generated = operation.as_strategy(generation_mode=mode)
        if not real or mode is GenerationMode.NEGATIVE:
            return generated
        return st.one_of(operation.as_strategy(generation_mode=mode, path_parameters=real), generated)

    return modes.flatmap(cases)


def _credentials(operation, world: World, data) -> dict:
    schemes = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    if "placementKey" in schemes:
        return {"headers": {"X-Placement-Key": world.key}}
    if "cookieAuth" in schemes:
        role = data.draw(st.sampled_from(["admin", "admin", "admin", "designer", "operator", "analyst"]))
        return {
            "cookies": {"sessionid": world.sessions[role], "csrftoken": world.csrf},
            "headers": {"X-CSRFToken": world.csrf},
        }
    return {}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_operation_answers_as_documented_and_never_5xx(operation, world, in_process_requests):
    skipped_checks, reason = KNOWN_NONCONFORMANT.get(operation.label, ([], ""))
    checks = [check for check in CHECKS if check not in skipped_checks]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not LONG_FORM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data):
        case = data.draw(_strategy(operation, world), label="case")
        if data.draw(st.integers(0, 3), label="steer"):  # three times in four
            _steer(case, world, data)
        credentials = _credentials(operation, world, data)
        cache.clear()  # throttles and serving lookups start afresh, like the database
        with transaction.atomic():
            case.call_and_validate(checks=checks, **credentials)
            transaction.set_rollback(True)

    fuzz()
    if skipped_checks:  # the rest passed; say in the summary what was not checked, and why
        pytest.skip(f"{', '.join(check.__name__ for check in skipped_checks)} left out: {reason}")


# --- what fuzzing found, pinned ---------------------------------------------------------------------------


def test_deleting_ad_copy_a_campaign_uses_is_refused_with_409_not_a_server_error(client, world, django_user_model):
    client.force_login(django_user_model.objects.get(username="operator"))

    response = client.delete(f"/api/v1/ad-copy/{world.copy.pk}/")

    assert response.status_code == 409
    assert response.json() == {
        "message": "Still in use by campaigns: remove those first.",
        "code": "in_use",
        "extra": {"used_by": ["campaigns"]},
    }
    assert AdCopySet.objects.filter(pk=world.copy.pk).exists()


def test_an_api_path_that_names_nothing_answers_the_error_contract_in_json(client, world):
    response = client.get("/api/v1/jobs/not-a-number")

    assert response.status_code == 404
    assert response.json() == {"message": "No such endpoint or object.", "code": "not_found", "extra": {}}
