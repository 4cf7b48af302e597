"""A designer edits a template in the visual editor: drag the title, change the preview size, save.

The picture is the server engine's render, so what must hold is that the designer's gesture
reaches the spec (the title's box moves where it was dropped), the engine re-renders at the
chosen size, and saving makes a new version holding that box; an operator cannot edit.
"""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _login(page, live_server, username: str, password: str, next_url: str):
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def _user(django_user_model, name: str, group: str):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(name, password=f"pw-{name}-long", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _wait_rendered(page, previous_src: str | None = None):
    page.wait_for_function(
        "([prev]) => document.body.dataset.renderState === 'ready' && document.getElementById('render').src !== prev",
        arg=[previous_src],
    )
    return page.get_attribute("#render", "src")


def test_designer_imports_a_psd_then_drags_the_title_changes_size_and_saves(
    live_server, page, csp_violations, django_user_model, tmp_path
):
    from templates_app.models import Template
    from templates_app.tests.psd_samples import sample_psd_bytes

    _user(django_user_model, "des", "Designers")
    psd = tmp_path / "winter-sale.psd"
    psd.write_bytes(sample_psd_bytes())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The designer's own file first: Import PSD on the template list.
    _login(page, live_server, "des", "pw-des-long", "/admin/templates_app/template/")
    page.click("text=Import PSD")
    page.fill("#id_name", "Winter sale PSD")
    page.set_input_files("#id_file", str(psd))
    page.click("#psd-import-form input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert "imported from the PSD" in page.inner_text(".messagelist")
    assert "Layer 7" in page.inner_text(".messagelist")  # what could not be mapped is listed, not dropped
    template = Template.objects.get(name="Winter sale PSD")
    spec = template.current_version.spec

    page.click("text=Visual editor")
    first = _wait_rendered(page)
    title = page.locator(".box[data-id=title]")
    before = title.bounding_box()
    stage = page.locator("#stage").bounding_box()

    # Drag the title down by a fifth of the canvas.
    page.mouse.move(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    page.mouse.down()
    page.mouse.move(
        before["x"] + before["width"] / 2, before["y"] + before["height"] / 2 + stage["height"] * 0.2, steps=8
    )
    page.mouse.up()
    second = _wait_rendered(page, first)
    after = page.locator(".box[data-id=title]").bounding_box()
    # The engine laid the title out where it was dropped (its box may be clipped to the safe area).
    assert after["y"] - before["y"] == pytest.approx(stage["height"] * 0.2, abs=stage["height"] * 0.03)
    assert second != first

    # Another shape: the engine renders 9:16 and its own layout for tall canvases.
    page.select_option("#size", label="1080×1920 (9:16)")
    _wait_rendered(page, second)
    natural = page.evaluate(
        "[document.getElementById('render').naturalWidth, document.getElementById('render').naturalHeight]"
    )
    assert natural == [1080, 1920]
    assert page.inner_text("#class-label") == "tall"
    assert float(page.inner_text("#score")) > 0
    assert page.locator("#components tr").count() >= 8

    page.fill("#note", "title lower")
    page.click("#save")
    page.wait_for_selector("#save-status.ok")
    assert "version 2" in page.inner_text("#save-status")
    assert page.inner_text("#version-label") == "Draft: version 2"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "template-editor.png"), full_page=True)

    assert errors == []  # no script error on the way
    template = Template.objects.get(pk=template.pk)
    saved = template.current_version
    assert saved.number == 2 and saved.note == "title lower"
    title_layer = next(layer for layer in saved.spec["layers"] if layer["id"] == "title")
    dropped = title_layer["boxes"]["square"]
    assert dropped["y"] == pytest.approx((before["y"] - stage["y"]) / stage["height"] + 0.2, abs=0.03)
    assert "tall" not in title_layer.get("boxes", {})  # only the shape that was edited changed
    # The previous version is unchanged and can still be restored.
    assert template.versions.get(number=1).spec == spec
    # The saved version is what the engine renders: the preview sheet shows it at every size.
    page.goto(f"{live_server.url}/templates/{template.pk}/sheet/")
    page.wait_for_selector(".sheet-cell img")
    page.screenshot(path=str(SCREENSHOTS / "template-editor-sheet.png"), full_page=True)
    assert csp_violations == []  # the admin, the editor and the sheet all work under the Content-Security-Policy


def test_operator_cannot_open_the_editor(live_server, page, django_user_model):
    from templates_app.services import template_create, template_publish

    _user(django_user_model, "op", "Operators")
    spec = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())
    template = template_publish(template=template_create(name="single-hero", spec=spec))

    _login(page, live_server, "op", "pw-op-long", f"/templates/{template.pk}/editor/")
    assert page.locator("#editor").count() == 0
    assert "403" in page.title() or "Forbidden" in page.content()
