"""Template API: per-role listing, versions, and a server-rendered preview."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from campaigns.services import product_upsert
from synthesis.samples import product_photo
from templates_app.services import template_create, template_publish, template_version_save

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


@pytest.fixture
def templates(designer):
    spec = json.loads((SHIPPED / "single-hero.json").read_text())
    draft = template_create(name="Draft hero", spec=spec, owner=designer)
    live = template_publish(template=template_create(name="Live hero", spec=spec, owner=designer))
    return draft, live


@pytest.fixture
def product():
    buf = io.BytesIO()
    product_photo((178, 34, 52), size=400).image.save(buf, format="JPEG")
    return product_upsert(sku="YX-1", title="羽绒服", price=Decimal("699"), image_data=buf.getvalue())


def test_designer_lists_all_templates_operator_only_published_analyst_none(
    client, designer, operator, analyst, templates
):
    names = {}
    for user in (designer, operator, analyst):
        client.force_login(user)
        response = client.get("/api/v1/templates/")
        names[user.username] = (response.status_code, sorted(t["name"] for t in response.json().get("results", [])))

    assert names["designer"] == (200, ["Draft hero", "Live hero"])
    assert names["operator"] == (200, ["Live hero"])
    assert names["analyst"][0] == 403


def test_a_template_and_each_version_are_fetched_with_their_spec(client, designer, operator, analyst, templates):
    draft, live = templates
    template_version_save(template=live, spec={**live.current_version.spec, "tags": ["winter"]}, saved_by=designer)
    client.force_login(designer)

    # The template's spec is the published one (what campaigns use); the newer draft is a version of its own.
    detail = client.get(f"/api/v1/templates/{live.pk}/").json()
    assert detail["current_version"] == 2 and detail["published_version"] == 1 and detail["unpublished_changes"]
    assert "winter" not in detail["spec"].get("tags", [])
    new = client.get(f"/api/v1/templates/{live.pk}/versions/2/").json()
    assert new["spec"]["tags"] == ["winter"]
    old = client.get(f"/api/v1/templates/{live.pk}/versions/1/").json()
    assert old["number"] == 1 and "winter" not in old["spec"].get("tags", [])
    assert client.get(f"/api/v1/templates/{live.pk}/versions/9/").status_code == 404

    client.force_login(operator)  # published only: a draft is not found, not forbidden
    assert client.get(f"/api/v1/templates/{live.pk}/").status_code == 200
    assert client.get(f"/api/v1/templates/{draft.pk}/").status_code == 404
    assert client.get(f"/api/v1/templates/{draft.pk}/versions/1/").status_code == 404
    client.force_login(analyst)
    assert client.get(f"/api/v1/templates/{live.pk}/").status_code == 403


def test_versions_include_the_spec(client, designer, templates):
    client.force_login(designer)

    response = client.get(f"/api/v1/templates/{templates[0].pk}/versions/")

    assert response.status_code == 200
    version = response.json()["results"][0]
    assert version["number"] == 1 and version["spec"]["name"] == "Draft hero"


def test_operator_cannot_see_a_draft_through_the_api(client, operator, templates):
    client.force_login(operator)

    assert client.get(f"/api/v1/templates/{templates[0].pk}/versions/").status_code == 404


def test_preview_returns_the_engine_render_with_its_score(client, designer, templates, product):
    client.force_login(designer)

    response = client.post(
        f"/api/v1/templates/{templates[1].pk}/preview",
        {"width": 728, "height": 90, "product_skus": ["YX-1"], "title": "网易严选 冬季羽绒服", "price": "¥699"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (728, 90)
    assert 0 < float(response["X-Aesthetic-Score"]) <= 100
    assert response["X-Violations"] == "none"


def test_preview_with_an_unknown_sku_or_too_many_products_is_a_clear_4xx(client, designer, templates, product):
    client.force_login(designer)
    url = f"/api/v1/templates/{templates[1].pk}/preview"

    unknown = client.post(url, {"product_skus": ["NOPE"], "title": "x"}, content_type="application/json")
    buf = io.BytesIO()
    product_photo((31, 58, 110), size=300).image.save(buf, format="JPEG")
    product_upsert(sku="YX-2", title="杯", price=Decimal("99"), image_data=buf.getvalue())
    too_many = client.post(url, {"product_skus": ["YX-1", "YX-2"], "title": "x"}, content_type="application/json")
    bad_size = client.post(url, {"product_skus": ["YX-1"], "title": "x", "width": 5}, content_type="application/json")

    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert too_many.status_code == 400 and too_many.json()["code"] == "product_count"
    assert bad_size.status_code == 400 and "width" in bad_size.json()["extra"]["fields"]


def test_analyst_cannot_render_previews(client, analyst, templates, product):
    client.force_login(analyst)

    response = client.post(
        f"/api/v1/templates/{templates[1].pk}/preview",
        {"product_skus": ["YX-1"], "title": "x"},
        content_type="application/json",
    )

    assert response.status_code == 403


def test_signed_render_url_renders_once_then_serves_from_storage(client, templates, product):
    from campaigns.services import render_token_make

    token = render_token_make(
        version=templates[1].current_version,
        size=(300, 250),
        product_skus=["YX-1"],
        copy={"title": "冬季羽绒服", "price": "¥699"},
    )

    first = client.get(f"/r/{token}.jpg")
    second = client.get(f"/r/{token}.jpg")

    assert first.status_code == 200 and first["X-Render-Cache"] == "miss"
    assert second.status_code == 200 and second["X-Render-Cache"] == "hit"
    assert first.content == second.content
    assert Image.open(io.BytesIO(first.content)).size == (300, 250)


def test_edited_or_forged_render_token_is_refused(client, templates, product):
    from campaigns.services import render_token_make

    token = render_token_make(
        version=templates[1].current_version, size=(300, 250), product_skus=["YX-1"], copy={"title": "冬季羽绒服"}
    )
    payload, _, signature = token.rpartition(":")
    edited = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + ":" + signature

    for bad in (edited, "garbage", token + "x"):
        response = client.get(f"/r/{bad}.jpg")
        assert response.status_code == 403, bad
        assert response.json()["code"] == "bad_signature"
