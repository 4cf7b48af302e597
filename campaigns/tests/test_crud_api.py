"""Operators manage products, ad copy, placements and campaigns through the API; other roles may not."""

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from campaigns.models import AdCopySet, Campaign, Creative, Placement, Product
from campaigns.tests.factories import CreativeFactory
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _image_b64(colour="red") -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _product(client, sku="SKU-1", **extra):
    body = {"sku": sku, "title": "羽绒服", "price": "599.00", "category": "outerwear", "image": _image_b64(), **extra}
    return client.post("/api/v1/products/", body, content_type="application/json")


def test_operator_creates_updates_and_lists_products(client, operator, media):
    client.force_login(operator)
    created = _product(client, highlights=["90% 白鹅绒"])
    assert created.status_code == 201, created.content
    assert Product.objects.get(sku="SKU-1").highlights == ["90% 白鹅绒"]
    stored = Product.objects.get().main_image
    assert stored.name.endswith(".png") and Path(stored.path).is_file()

    again = _product(client, title="新款羽绒服")  # the same sku: an upsert, not a duplicate
    assert again.status_code == 201 and Product.objects.count() == 1
    patched = client.patch("/api/v1/products/SKU-1/", {"price": "499.00"}, content_type="application/json")
    assert patched.status_code == 200 and str(Product.objects.get().price) == "499.00"
    assert Product.objects.get().title == "新款羽绒服"  # the patch kept what it did not name
    listed = client.get("/api/v1/products/?category=outerwear").json()
    assert [p["sku"] for p in listed["results"]] == ["SKU-1"] and listed["count"] == 1
    assert client.get("/api/v1/products/?category=shoes").json()["results"] == []


def test_a_broken_image_is_refused_and_nothing_is_stored(client, operator, media):
    client.force_login(operator)
    response = _product(client, image=base64.b64encode(b"not an image").decode())
    assert response.status_code == 400 and "main image rejected" in response.json()["message"]
    assert _product(client, image="%%%").status_code == 400
    assert Product.objects.count() == 0 and not any(p.is_file() for p in Path(media).rglob("*"))


def test_a_post_without_an_image_updates_an_existing_sku_and_refuses_a_new_one(client, operator):
    client.force_login(operator)
    _product(client)
    stored = Product.objects.get().main_image.name
    body = {"sku": "SKU-1", "title": "新款", "price": "499.00"}

    updated = client.post("/api/v1/products/", body, content_type="application/json")
    new = client.post("/api/v1/products/", {**body, "sku": "SKU-2"}, content_type="application/json")

    assert updated.status_code == 201 and Product.objects.get().main_image.name == stored
    assert new.status_code == 400 and new.json()["code"] == "image_required"
    assert list(Product.objects.values_list("sku", "title")) == [("SKU-1", "新款")]


def test_highlights_must_be_short_selling_points(client, operator):
    client.force_login(operator)

    response = _product(client, highlights=["x" * 41])

    assert response.status_code == 400 and "highlights" in response.json()["extra"]["fields"]
    assert Product.objects.count() == 0


def test_placements_keys_and_validation(client, operator):
    client.force_login(operator)
    bad = client.post("/api/v1/placements/", {"name": "p", "channel": "dsp", "sizes": [[10, 10]]}, "application/json")
    assert bad.status_code == 400
    made = client.post(
        "/api/v1/placements/", {"name": "feed", "channel": "recommendation", "sizes": [[300, 250]]}, "application/json"
    )
    assert made.status_code == 201 and "key_hash" not in made.json()
    key = client.post(f"/api/v1/placements/{made.json()['id']}/issue-key/").json()["key"]
    assert key.startswith("pk_") and Placement.objects.get().key_hash != key  # only a hash is kept
    client.post(f"/api/v1/placements/{made.json()['id']}/revoke-key/")
    client.logout()
    serve = client.get(f"/api/v1/serve/{made.json()['id']}", {"size": "300x250"}, HTTP_X_PLACEMENT_KEY=key)
    assert serve.status_code == 401


def test_a_placement_names_each_size_once(client, operator):
    # Must hold: a size given twice is a 400 naming it (it would be generated and scored twice over); nothing made.
    client.force_login(operator)
    sizes = [[300, 250], [728, 90], [300, 250]]

    response = client.post("/api/v1/placements/", {"name": "p", "channel": "dsp", "sizes": sizes}, "application/json")

    assert response.status_code == 400 and "300x250" in str(response.json()["extra"]["fields"]["sizes"])
    assert not Placement.objects.exists()


@pytest.mark.parametrize("size", [[300, 250, 1], [300], "300x250"])
def test_a_placement_size_that_is_not_a_width_and_height_is_refused_saying_what_a_size_is(client, operator, size):
    # Must hold: the 400 says what a size is ([width, height]), not DRF's "no more than 2 elements"; nothing made.
    client.force_login(operator)

    response = client.post("/api/v1/placements/", {"name": "p", "channel": "dsp", "sizes": [size]}, "application/json")

    assert response.status_code == 400
    assert "A size is [width, height]" in str(response.json()["extra"]["fields"]["sizes"])
    assert not Placement.objects.exists()


def test_operator_builds_a_campaign_from_published_templates_only(client, operator):
    client.force_login(operator)
    spec = json.loads((SHIPPED / "single-hero.json").read_text())
    published = template_publish(template=template_create(name="hero", spec=spec))
    draft = template_create(name="draft", spec=spec)
    _product(client)
    copy = client.post("/api/v1/ad-copy/", {"name": "winter", "titles": ["冬季上新"]}, "application/json").json()
    placement = Placement.objects.create(name="feed", channel="dsp", sizes=[[300, 250]])
    body = {"name": "Winter", "copy": copy["id"], "products": ["SKU-1"], "templates": [published.pk],
            "placements": [placement.pk], "webhook_url": "https://hooks.example.com/creative"}  # fmt: skip

    assert client.post("/api/v1/campaigns/", {**body, "templates": [draft.pk]}, "application/json").status_code == 400
    made = client.post("/api/v1/campaigns/", body, "application/json")
    assert made.status_code == 201, made.content
    assert made.json()["status"] == "draft" and len(made.json()["webhook_secret"]) == 64
    # Shown once: every later answer masks it to its last four characters.
    secret = made.json()["webhook_secret"]
    later = client.get(f"/api/v1/campaigns/{made.json()['id']}/").json()["webhook_secret"]
    assert later == "•" * 12 + secret[-4:]
    assert secret not in client.get("/api/v1/campaigns/").content.decode()
    live = client.post(f"/api/v1/campaigns/{made.json()['id']}/go-live/")
    assert live.status_code == 400 and live.json()["code"] == "nothing_approved"
    assert client.post("/api/v1/ad-copy/", {"name": "x", "titles": []}, "application/json").status_code == 400


def test_a_placement_patch_changes_only_what_it_names(client, operator):
    client.force_login(operator)
    placement = Placement.objects.create(name="feed", channel="dsp", sizes=[[300, 250], [728, 90]])

    response = client.patch(f"/api/v1/placements/{placement.pk}/", {"name": "Feed 2"}, "application/json")

    assert response.status_code == 200, response.content
    placement.refresh_from_db()
    assert placement.name == "Feed 2" and placement.sizes == [[300, 250], [728, 90]]


def test_a_campaign_with_creatives_is_not_deleted(client, operator):
    """Its creatives carry the tracked events and rollups: the operator is told to end it instead."""
    client.force_login(operator)
    spec = json.loads((SHIPPED / "single-hero.json").read_text())
    template = template_publish(template=template_create(name="hero", spec=spec))
    _product(client)
    copy = AdCopySet.objects.create(name="c", titles=["冬季上新"])
    made, empty = (Campaign.objects.create(name=n, copy=copy) for n in ("Made", "Empty"))
    CreativeFactory(
        campaign=made,
        product_key="SKU-1",
        template_version=template.current_version,
        file="creatives/x.jpg",
        content_hash="",
        aesthetic_score=80,
        state=Creative.State.PENDING,
    )

    refused = client.delete(f"/api/v1/campaigns/{made.pk}/")
    assert refused.status_code == 409 and refused.json()["code"] == "campaign_has_creatives"
    assert Campaign.objects.filter(pk=made.pk).exists() and Creative.objects.filter(campaign=made).count() == 1
    assert client.delete(f"/api/v1/campaigns/{empty.pk}/").status_code == 204
    assert client.post(f"/api/v1/campaigns/{made.pk}/pause/").json()["code"] == "not_live"
    made.status = Campaign.Status.LIVE
    made.save()
    assert client.post(f"/api/v1/campaigns/{made.pk}/pause/").json()["status"] == "paused"
    assert client.post(f"/api/v1/campaigns/{made.pk}/end/").json()["status"] == "ended"
    assert Creative.objects.filter(campaign=made).count() == 1  # kept for the dashboards
    assert not Campaign.objects.filter(pk=empty.pk).exists()


@pytest.mark.parametrize("role_user", ["designer", "analyst", "anonymous"], indirect=True)
def test_other_roles_may_not_write(client, role_user):
    refused = 403  # signed in, not allowed; without credentials 401 asks for an API key
    if role_user:
        client.force_login(role_user)
    else:
        refused = 401
    copy = AdCopySet.objects.create(name="a", titles=["x"])
    assert _product(client).status_code == refused
    assert client.post("/api/v1/ad-copy/", {"name": "b", "titles": ["y"]}, "application/json").status_code == refused
    assert client.delete(f"/api/v1/ad-copy/{copy.pk}/").status_code == refused
    assert client.post("/api/v1/campaigns/", {"name": "c"}, "application/json").status_code == refused
    assert Product.objects.count() == 0 and Campaign.objects.count() == 0 and AdCopySet.objects.count() == 1
