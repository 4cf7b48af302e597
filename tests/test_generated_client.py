"""The API schema stays usable by a generated client (issue 19): openapi-python-client builds a client from
the schema the site serves, and a campaign's whole life runs through it against a live server.

What must hold: every generated operation module imports; the request models take the server's JSON bodies
(no read-only field asked for); the answers parse into the documented models; and create, generate, poll,
approve, go live, serve and statistics work end to end with a personal API key and a placement key.
Without openapi-python-client the test is skipped on a developer machine and fails under CI.
"""

import base64
import importlib
import io
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from accounts.roles import sync_role_groups
from accounts.services import api_key_create
from analytics.tasks import rollups_refresh
from synthesis.samples import product_photo
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media")]

SHIPPED = Path(__file__).resolve().parents[1] / "synthesis" / "templates"
PACKAGE = "creative_admin_generated_client"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(autouse=True)
def role_groups(transactional_db):
    """Live-server tests flush the database between tests, data migrations included: put the roles back."""
    sync_role_groups(apps, import_module("accounts.migrations.0006_api_key_permissions").TABLE)


@pytest.fixture
def generated_client(tmp_path):
    """The client package openapi-python-client generates from the site's schema, imported."""
    command = str(GENERATOR) if GENERATOR.exists() else shutil.which("openapi-python-client")
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs openapi-python-client (requirements-dev.txt) for the generated-client test.")
        pytest.skip("openapi-python-client is not installed (pip install -r requirements-dev.txt)")
    schema = SchemaGenerator().get_schema(request=None, public=True)
    (tmp_path / "schema.json").write_bytes(OpenApiJsonRenderer().render(schema, renderer_context={}))
    subprocess.run(
        [command, "generate", "--path", "schema.json", "--output-path", PACKAGE, "--meta", "none"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(PACKAGE)
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _operation(name: str):
    return importlib.import_module(f"{PACKAGE}.api.v1.{name}")


def _model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def _photo() -> str:
    buffer = io.BytesIO()
    product_photo((178, 34, 52), size=300).image.save(buffer, format="JPEG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_every_generated_operation_module_imports(generated_client):
    # A module that fails on import (NameError: Unset, from a body offered in three content types) is an
    # operation the client's user cannot call at all.
    api = importlib.import_module(f"{PACKAGE}.api")
    failed = {}
    for module in pkgutil.walk_packages(api.__path__, f"{PACKAGE}.api."):
        try:
            importlib.import_module(module.name)
        except Exception as exc:  # noqa: BLE001 -- every failure is reported, not only the first
            failed[module.name] = repr(exc)

    assert failed == {}


def test_a_campaign_runs_from_creation_to_statistics_through_the_generated_client(
    generated_client, live_server, operator
):
    # Given an operator's personal API key and a published template (templates are made by designers in the editor)
    _, key = api_key_create(user=operator, name="generated client")
    template = template_publish(
        template=template_create(name="hero", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    )
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=key, raise_on_unexpected_status=True)

    # When the client makes the ad copy, placement, product and campaign
    copy = _operation("v1_ad_copy_create").sync(
        client=client, body=_model("AdCopySetRequest")(name="winter", titles=["冬季羽绒服 限时直降"])
    )
    placement = _operation("v1_placements_create").sync(
        client=client,
        body=_model("PlacementRequest")(
            name="feed", channel=_model("ChannelEnum")("recommendation"), sizes=[[300, 250]]
        ),
    )
    product = _operation("v1_products_create").sync(
        client=client,
        body=_model("ProductWriteRequest")(
            sku="YX-1", title="羽绒服", price="699.00", highlights=["90% 白鹅绒"], image=_photo()
        ),
    )
    pool = _operation("v1_pools_create").sync(client=client, body=_model("ProductPoolRequest")(name="interest"))
    scores = _operation("v1_pools_scores_update").sync(
        id=pool.id,
        client=client,
        body=_model("PoolScoresRequest")(scores=[_model("PoolScoreRequest")(sku="YX-1", score=0.9)]),
    )
    created = _operation("v1_campaigns_create").sync_detailed(
        client=client,
        body=_model("CampaignRequest")(
            name="Winter",
            copy=copy.id,
            pool=pool.id,
            products=[product.sku],
            templates=[template.pk],
            placements=[placement.id],
            top_k=1,
            candidates_per_size=4,
            landing_url="https://shop.example.com/winter",
        ),
    )
    campaign = created.parsed
    placement_key = _operation("v1_placements_issue_key_create").sync(id=placement.id, client=client).key

    # And generates, polls the job, approves what it made and goes live
    generate = _operation("v1_campaigns_generate_create")
    started = generate.sync_detailed(id=campaign.id, client=client, idempotency_key="winter-generate-1")
    retried = generate.sync_detailed(id=campaign.id, client=client, idempotency_key="winter-generate-1")
    job = _operation("v1_jobs_retrieve").sync(id=started.parsed.id, client=client)
    creatives = _operation("v1_creatives_list").sync(client=client, campaign=campaign.id)
    review = _operation("v1_creatives_review_create").sync(
        client=client,
        body=_model("CreativeReviewRequest")(
            action=_model("CreativeReviewActionEnum")("approve"), ids=[c.id for c in creatives.results]
        ),
    )
    live = _operation("v1_campaigns_go_live_create").sync(id=campaign.id, client=client)

    # And the placement's server asks for a creative with its own key
    placement_client = generated_client.AuthenticatedClient(
        base_url=live_server.url, token=placement_key, prefix="Placement", raise_on_unexpected_status=True
    )
    served = _operation("v1_serve_retrieve").sync(placement_id=placement.id, client=placement_client, size="300x250")
    # (the page shows it: its browser loads the impression pixel; the minute's rollup counts it)
    pixel = placement_client.get_httpx_client().get(served.impression_url, headers={"User-Agent": BROWSER})
    rollups_refresh()
    breakdown = _operation("v1_statistics_breakdown_list").sync(
        client=client, by=_model("V1StatisticsBreakdownListBy")("creative"), campaign=campaign.id
    )

    # Then every step answered with its documented model, and the campaign serves what was approved
    assert scores.upserted == 1 and scores.unknown_skus == []
    assert campaign.status.value == "draft" and campaign.webhook_secret is not None
    assert started.status_code == 202 and created.headers["Location"].endswith(f"/campaigns/{campaign.id}")
    assert retried.parsed.id == started.parsed.id and retried.headers["Idempotent-Replayed"] == "true"
    assert job.state == "done" and job.product_sets_done == 1
    assert creatives.count >= 1 and review.changed == creatives.count
    assert live.status.value == "live"
    assert served.creative_id in {c.id for c in creatives.results} and served.product_skus == ["YX-1"]
    assert pixel.status_code == 200
    assert [(row.key, row.impressions) for row in breakdown.results] == [(str(served.creative_id), 1)]
