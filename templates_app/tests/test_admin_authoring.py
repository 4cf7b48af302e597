"""Authoring in the admin: a spec as a JSON file, duplicating a template, restoring an old version."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from templates_app.models import Template
from templates_app.services import template_create, template_version_save

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"
ADD_URL = "/admin/templates_app/template/add/"
INLINE = {"versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"}  # the admin's (read-only) version inline


def _spec() -> dict:
    return json.loads((SHIPPED / "single-hero.json").read_text())


def _upload(data: bytes, name: str = "hero.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/json")


def test_a_designer_creates_a_template_from_a_spec_file(client, designer):
    client.force_login(designer)
    response = client.post(ADD_URL, {**INLINE, "name": "From file", "spec_file": _upload(json.dumps(_spec()).encode())})

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    template = Template.objects.get(name="From file")
    assert template.current_version.spec == {**_spec(), "name": "From file"}
    assert template.owner == designer


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not UTF-8 JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8 JSON"),
        (b"[1, 2]", "one JSON object"),
        (json.dumps({**_spec(), "layers": []}).encode(), "layers"),
    ],
    ids=["syntax", "binary", "a-list", "invalid-spec"],
)
def test_a_bad_spec_file_is_refused_in_the_form_and_nothing_is_saved(client, designer, data, message):
    client.force_login(designer)
    response = client.post(ADD_URL, {**INLINE, "name": "Bad", "spec_file": _upload(data)})

    assert response.status_code == 200  # the form again, with the error
    errors = " ".join(str(e) for e in response.context["adminform"].form.errors.values())
    assert message in errors
    assert not Template.objects.exists()


def test_neither_text_nor_file_is_an_error(client, designer):
    client.force_login(designer)
    response = client.post(ADD_URL, {**INLINE, "name": "Empty"})
    assert response.status_code == 200 and "JSON text or as a .json file" in response.content.decode()
    assert not Template.objects.exists()


def test_duplicate_makes_drafts_with_free_names(client, designer):
    original = template_create(name="Hero", spec=_spec())
    client.force_login(designer)
    for _ in range(2):
        response = client.post(
            "/admin/templates_app/template/", {"action": "duplicate", "_selected_action": [original.pk]}
        )
        assert response.status_code == 302

    copies = Template.objects.exclude(pk=original.pk).order_by("pk")
    assert [c.name for c in copies] == ["Hero (copy)", "Hero (copy 2)"]
    assert all(c.status == Template.Status.DRAFT and c.owner == designer for c in copies)
    assert copies[0].current_version.spec["layers"] == original.current_version.spec["layers"]


def test_an_operator_cannot_duplicate(client, operator):
    original = template_create(name="Hero", spec=_spec())
    client.force_login(operator)
    client.post("/admin/templates_app/template/", {"action": "duplicate", "_selected_action": [original.pk]})
    assert Template.objects.count() == 1


def test_restore_from_the_template_page_saves_the_old_spec_as_newest(client, designer, operator):
    template = template_create(name="Hero", spec=_spec())
    changed = _spec()
    changed["canvas"]["safe_margin"] = 0.08
    template_version_save(template=template, spec=changed)
    client.force_login(designer)

    page = client.get(f"/admin/templates_app/template/{template.pk}/change/")
    assert f'formaction="/templates/{template.pk}/versions/1/restore"' in page.content.decode()

    response = client.post(f"/templates/{template.pk}/versions/1/restore")
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.current_version.number == 3
    assert template.current_version.spec["canvas"] == _spec()["canvas"]
    assert template.current_version.note == "restored v1"

    client.force_login(operator)
    assert client.post(f"/templates/{template.pk}/versions/2/restore").status_code in (403, 404)
    assert template.versions.count() == 3
