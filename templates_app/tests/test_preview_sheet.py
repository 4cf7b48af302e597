"""The preview sheet renders a template at every size; publishing needs it free of hard errors."""

import json
from pathlib import Path

import pytest

from templates_app.errors import TemplateRejected
from templates_app.models import Template
from templates_app.services import SHEET_SIZES, template_create, template_preview_sheet, template_publish

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _hero() -> dict:
    return json.loads((SHIPPED / "single-hero.json").read_text())


def _title_on_the_product() -> dict:
    """The designer drew the title right across the product at every shape: text on the product."""
    spec = _hero()
    box = {"x": 0.1, "y": 0.1, "w": 0.8, "h": 0.8}
    for layer in spec["layers"]:
        if layer["role"] == "product":
            layer["boxes"] = {cls: box for cls in ("square", "tall", "wide", "banner")}
        if layer["role"] == "title":
            layer["boxes"] = {
                cls: {"x": 0.1, "y": 0.4, "w": 0.8, "h": 0.2} for cls in ("square", "tall", "wide", "banner")
            }
    return spec


def test_the_sheet_covers_every_size_with_the_fewest_and_most_products():
    multi = json.loads((SHIPPED / "multi-grid.json").read_text())
    template = template_create(name="grid", spec=multi)

    cells = template_preview_sheet(version=template.current_version)

    assert {(c.size, c.products) for c in cells} == {(s, n) for s in SHEET_SIZES for n in (2, 4)}
    assert all(c.image[:3] == b"\xff\xd8\xff" and 0 < c.score <= 100 for c in cells)


def test_a_clean_template_publishes():
    template = template_publish(template=template_create(name="hero", spec=_hero()))
    assert template.status == Template.Status.PUBLISHED


def test_a_template_with_hard_errors_cannot_be_published():
    template = template_create(name="covered", spec=_title_on_the_product())

    with pytest.raises(TemplateRejected) as exc:
        template_publish(template=template)

    assert exc.value.code == "sheet_errors"
    assert "The title covers the product at 1080×1080." in exc.value.extra["errors"]
    assert any(p["code"] == "text_over_product" and p["layer"] == "title" for p in exc.value.extra["problems"])
    template.refresh_from_db()
    assert template.status == Template.Status.DRAFT


def test_the_designer_sees_the_sheet_and_the_admin_refuses_to_publish(client, designer, analyst):
    template = template_create(name="covered", spec=_title_on_the_product())
    client.force_login(designer)

    page = client.get(f"/templates/{template.pk}/sheet/").content.decode()
    assert page.count("<figure") == len(SHEET_SIZES) and "text_over_product" in page
    assert "cannot be published" in page
    response = client.post(
        "/admin/templates_app/template/", {"action": "publish", "_selected_action": [template.pk]}, follow=True
    )
    assert "cannot be published" in response.content.decode()
    template.refresh_from_db()
    assert template.status == Template.Status.DRAFT

    client.force_login(analyst)
    assert client.get(f"/templates/{template.pk}/sheet/").status_code == 403


def test_the_sheet_and_the_template_keep_to_the_shapes_it_was_made_for():
    template = template_create(name="square and tall", spec={**_hero(), "shapes": ["square", "tall"]})

    cells = template_preview_sheet(version=template.current_version)

    assert template.shapes == ["square", "tall"]
    assert {c.size for c in cells} == {(1080, 1080), (1080, 1920), (1080, 1350), (300, 250)}
