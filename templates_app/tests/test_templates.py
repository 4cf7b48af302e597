"""Templates are versioned: every save is a new immutable version, an old one can be restored."""

import json
from pathlib import Path

import pytest

from templates_app.errors import TemplateRejected
from templates_app.models import Template, TemplateVersion
from templates_app.services import template_create, template_publish, template_version_restore, template_version_save

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _spec(name="single-hero.json") -> dict:
    return json.loads((SHIPPED / name).read_text())


def test_create_stores_version_one_and_the_product_range(designer):
    template = template_create(name="Winter hero", spec=_spec(), owner=designer)

    assert template.current_version.number == 1
    assert template.current_version.spec["name"] == "Winter hero"
    assert (template.products_min, template.products_max) == (1, 1)
    assert template.status == Template.Status.DRAFT


def test_invalid_spec_is_refused_with_every_path_and_nothing_saved(designer):
    spec = _spec()
    spec["layers"][3]["box"] = {"x": 0, "y": 0, "w": 0, "h": 0.1}

    with pytest.raises(TemplateRejected) as excinfo:
        template_create(name="Broken", spec=spec, owner=designer)

    assert "layers[3].box.w: must be > 0" in excinfo.value.extra["errors"]
    assert not Template.objects.exists()
    assert not TemplateVersion.objects.exists()


def test_each_save_is_a_new_version_and_restore_brings_an_old_spec_back(designer):
    template = template_create(name="Hero", spec=_spec(), owner=designer)
    changed = _spec()
    changed["canvas"]["safe_margin"] = 0.08
    template_version_save(template=template, spec=changed, saved_by=designer, note="wider margin")

    restored = template_version_restore(version=template.versions.get(number=1), restored_by=designer)

    template.refresh_from_db()
    assert list(template.versions.values_list("number", flat=True)) == [3, 2, 1]
    assert restored.number == 3 and template.current_version == restored
    assert restored.spec["canvas"]["safe_margin"] == 0.05
    assert template.versions.get(number=2).spec["canvas"]["safe_margin"] == 0.08  # untouched


def test_operator_sees_only_published_templates_and_cannot_edit(client, designer, operator):
    draft = template_create(name="Draft one", spec=_spec(), owner=designer)
    live = template_publish(template=template_create(name="Live one", spec=_spec(), owner=designer))
    client.force_login(operator)

    listing = client.get("/admin/templates_app/template/").content.decode()

    assert "Live one" in listing and "Draft one" not in listing
    assert client.get(f"/admin/templates_app/template/{draft.pk}/change/").status_code == 302  # "does not exist"
    response = client.post(f"/admin/templates_app/template/{live.pk}/change/", {"spec": "{}"})
    assert response.status_code == 403
    live.refresh_from_db()
    assert live.current_version.number == 1


def test_designer_creates_a_template_in_the_admin_from_a_spec(client, designer):
    client.force_login(designer)

    response = client.post(
        "/admin/templates_app/template/add/",
        {
            "name": "From admin",
            "spec": json.dumps(_spec("multi-grid.json")),
            "note": "",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    template = Template.objects.get(name="From admin")
    assert template.products_max == 4
    assert template.owner == designer


def test_analyst_sees_no_templates(client, analyst):
    client.force_login(analyst)

    assert client.get("/admin/templates_app/template/").status_code == 403
