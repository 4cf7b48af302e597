"""The visual editor's server side: who may use it, its live preview, and saving versions safely."""

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from templates_app.models import Template
from templates_app.services import template_create, template_publish

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _hero() -> dict:
    return json.loads((SHIPPED / "single-hero.json").read_text())


@pytest.fixture
def hero():
    return template_create(name="hero", spec=_hero())


def _render(client, template, **body):
    return client.post(f"/templates/{template.pk}/editor/render", json.dumps(body), content_type="application/json")


def _save(client, template, **body):
    return client.post(f"/templates/{template.pk}/editor/save", json.dumps(body), content_type="application/json")


def _layer(spec: dict, layer_id: str) -> dict:
    return next(layer for layer in spec["layers"] if layer["id"] == layer_id)


def test_designers_open_the_editor_operators_and_analysts_cannot(client, designer, operator, analyst, hero):
    template_publish(template=hero)  # operators can see it, and still not edit it
    client.force_login(designer)
    page = client.get(f"/templates/{hero.pk}/editor/")
    assert page.status_code == 200
    assert page.context["editor"]["version"] == 1 and page.context["editor"]["spec"]["name"] == "hero"
    for user in (operator, analyst):
        client.force_login(user)
        assert client.get(f"/templates/{hero.pk}/editor/").status_code == 403
        assert _render(client, hero, spec=_hero()).status_code == 403
        assert _save(client, hero, spec=_hero(), base_version=1).status_code == 403
    assert hero.versions.count() == 1
    client.logout()
    assert client.get(f"/templates/{hero.pk}/editor/").status_code == 302  # to the login page


def test_the_preview_is_the_engine_render_at_the_asked_size_with_layer_boxes(client, designer, hero):
    client.force_login(designer)
    spec = _hero()
    response = _render(client, hero, spec=spec, width=728, height=90, products=1, copy={"title": "Warm all winter"})

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    image = Image.open(io.BytesIO(base64.b64decode(body["src"].split(",", 1)[1])))
    assert image.size == (728, 90)
    assert body["aspect_class"] == "banner"
    assert 0 < body["score"] <= 100 and set(body["components"]) >= {"readability", "occlusion", "text_fit"}
    # Every laid-out layer has a box on the canvas; copy left empty hides its layer (no subtitle sent).
    assert "title" in body["layout"] and "subtitle" not in body["layout"]
    x, y, w, h = body["layout"]["title"]
    assert 0 <= x and x + w <= 728 and 0 <= y and y + h <= 90


def test_a_box_the_designer_drew_is_where_the_engine_puts_the_layer(client, designer, hero):
    client.force_login(designer)
    spec = _hero()
    _layer(spec, "title")["boxes"] = {"square": {"x": 0.2, "y": 0.5, "w": 0.6, "h": 0.15}}

    body = _render(client, hero, spec=spec, width=1000, height=1000, copy={"title": "冬季新品"}).json()

    assert body["layout"]["title"] == [200, 500, 600, 150]


def test_a_title_dragged_onto_the_product_is_flagged(client, designer, hero):
    client.force_login(designer)
    spec = _hero()
    product = _layer(spec, "product")
    product["boxes"] = {"square": {"x": 0.1, "y": 0.1, "w": 0.8, "h": 0.8}}
    _layer(spec, "title")["boxes"] = {"square": {"x": 0.1, "y": 0.4, "w": 0.8, "h": 0.2}}

    body = _render(client, hero, spec=spec, width=1080, height=1080, copy={"title": "冬季新品 轻暖一整季"}).json()

    assert any("product" in v for v in body["violations"]), body["violations"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"spec": {"spec_version": 1, "layers": [{"id": "t", "role": "title", "text": {"size": [0.5, 0.1]}}]}},
         "invalid_template"),
        ({"spec": "not an object"}, "bad_spec"),
        ({"spec": _hero(), "products": 3}, "product_count"),
        ({"spec": _hero(), "width": 10, "height": 10}, "bad_size"),
        ({"spec": _hero(), "width": "wide"}, "bad_size"),
    ],
    ids=["invalid-spec", "spec-not-object", "too-many-products", "tiny", "not-a-number"],
)  # fmt: skip
def test_bad_previews_get_a_clear_400(client, designer, hero, body, code):
    client.force_login(designer)
    response = _render(client, hero, **body)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]


def test_an_invalid_spec_lists_every_problem_with_its_path(client, designer, hero):
    client.force_login(designer)
    spec = _hero()
    _layer(spec, "title")["text"]["size"] = [0.2, 0.1]
    _layer(spec, "price")["colour"] = "#ff0000"  # a fixed colour, not a palette role

    body = _render(client, hero, spec=spec).json()

    paths = " ".join(body["extra"]["errors"])
    assert "text.size" in paths and "colour" in paths


def test_not_json_is_a_400(client, designer, hero):
    client.force_login(designer)
    response = client.post(f"/templates/{hero.pk}/editor/render", b"{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "bad_json"


def test_saving_makes_a_new_version_and_keeps_the_old_one(client, designer, hero):
    client.force_login(designer)
    spec = _hero()
    _layer(spec, "title")["boxes"] = {"square": {"x": 0.2, "y": 0.5, "w": 0.6, "h": 0.15}}

    response = _save(client, hero, spec=spec, base_version=1, note="title lower")

    assert response.status_code == 201 and response.json() == {"version": 2, "created": True}
    hero.refresh_from_db()
    assert hero.current_version.number == 2 and hero.current_version.saved_by == designer
    assert hero.current_version.note == "title lower"
    assert _layer(hero.current_version.spec, "title")["boxes"]["square"]["y"] == 0.5
    assert hero.versions.get(number=1).spec == {**_hero(), "name": "hero"}

    again = _save(client, hero, spec=spec, base_version=2)
    assert again.status_code == 200 and again.json() == {"version": 2, "created": False}
    assert hero.versions.count() == 2


def test_a_save_over_someone_elses_newer_version_is_refused(client, designer, hero):
    client.force_login(designer)
    first = _hero()
    _layer(first, "title")["text"]["align"] = "center"
    assert _save(client, hero, spec=first, base_version=1).status_code == 201  # someone else, in another tab

    mine = _hero()
    _layer(mine, "title")["text"]["align"] = "right"
    response = _save(client, hero, spec=mine, base_version=1)

    assert response.status_code == 409
    assert response.json()["extra"]["current_version"] == 2
    hero.refresh_from_db()
    assert hero.versions.count() == 2 and _layer(hero.current_version.spec, "title")["text"]["align"] == "center"


def test_an_invalid_spec_is_not_saved(client, designer, hero):
    client.force_login(designer)
    spec = _hero()
    spec["layers"] = [layer for layer in spec["layers"] if layer["role"] != "background"]

    response = _save(client, hero, spec=spec, base_version=1)

    assert response.status_code == 400 and response.json()["code"] == "invalid_template"
    assert Template.objects.get(pk=hero.pk).versions.count() == 1


def test_the_editor_needs_the_csrf_token(designer, hero):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(designer)
    assert _save(client, hero, spec=_hero(), base_version=1).status_code == 403
    page = client.get(f"/templates/{hero.pk}/editor/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        f"/templates/{hero.pk}/editor/save",
        json.dumps({"spec": _hero(), "base_version": 1}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200  # the same spec: accepted, nothing new to save
