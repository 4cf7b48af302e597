"""Issue 20, item 2: the editor speaks in sentences a designer can act on.

Hard checks and weak score components read as sentences naming the layer and the size, and a click
on one selects that layer; the palette's roles show as swatches saying what each is for, and a brand
colour that puts text below 4.5:1 is warned about; undo and redo reach back 50 edits from the
keyboard; the spec is shown as formatted JSON that is used only when it is valid.
"""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _designer_opens_the_editor(page, live_server, django_user_model):
    from django.contrib.auth.models import Group

    from templates_app.services import template_create

    user = django_user_model.objects.create_user("des", password="pw-des-long", is_staff=True)
    user.groups.add(Group.objects.get(name="Designers"))
    spec = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())
    template = template_create(name="single-hero", spec=spec)
    page.goto(f"{live_server.url}/admin/login/?next=/templates/{template.pk}/editor/")
    page.fill("#id_username", "des")
    page.fill("#id_password", "pw-des-long")
    page.click("input[type=submit]")
    _wait_rendered(page)
    return template


def _wait_rendered(page, previous_src: str | None = None):
    page.wait_for_function(
        "([prev]) => document.body.dataset.renderState === 'ready' && document.getElementById('render').src !== prev",
        arg=[previous_src],
    )
    return page.get_attribute("#render", "src")


def _spec(page) -> dict:
    return json.loads(page.input_value("#spec-json"))


def _title_box(page):
    title = next(layer for layer in _spec(page)["layers"] if layer["id"] == "title")
    return title.get("boxes", {}).get("square") or title.get("box")


def test_problems_read_as_sentences_and_select_their_layer(live_server, page, django_user_model):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _designer_opens_the_editor(page, live_server, django_user_model)
    src = page.get_attribute("#render", "src")

    # Drop the title onto the middle of the product.
    product = page.locator(".box[data-id=product]").bounding_box()
    title = page.locator(".box[data-id=title]").bounding_box()
    page.mouse.move(title["x"] + 10, title["y"] + 10)
    page.mouse.down()
    page.mouse.move(product["x"] + product["width"] * 0.3, product["y"] + product["height"] * 0.4, steps=8)
    page.mouse.up()
    _wait_rendered(page, src)

    sentence = page.locator("#warnings li[data-code=text_over_product][data-layer=title]")
    assert sentence.count() == 1
    assert sentence.inner_text() == "The title covers the product at 1080×1080."
    assert "cannot be published" in page.inner_text("#checks-summary")
    # No bare engine codes reach the designer.
    for text in page.locator("#warnings li").all_inner_texts():
        assert ":" not in text.split(" at ")[0] or text.startswith("The "), text
        assert "text_over_product" not in text

    page.click("#layer-list li[data-id=badge]")
    sentence.click()
    assert page.get_attribute("#layer-list li.selected", "data-id") == "title"
    assert page.get_attribute(".box.selected", "data-id") == "title"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "editor-plain-words.png"), full_page=True)
    assert errors == []


def test_a_failing_score_component_is_a_warning(live_server, page, django_user_model):
    _designer_opens_the_editor(page, live_server, django_user_model)
    src = page.get_attribute("#render", "src")
    # The product's own colours everywhere: background and primary take the sample product's red.
    page.locator("#colour-roles input[data-role=background]").fill("#c8102e")
    src = _wait_rendered(page, src)
    page.locator("#colour-roles input[data-role=primary]").fill("#c8102e")
    _wait_rendered(page, src)
    components = {
        row.split("\t")[0].strip(): float(row.split("\t")[-1])
        for row in page.locator("#components tr").all_inner_texts()
    }
    weak = [name for name, value in components.items() if value < 0.5]
    assert weak, components
    codes = page.eval_on_selector_all("#warnings li", "items => items.map(i => i.dataset.code)")
    for name in weak:
        assert f"weak_{name.replace(' ', '_')}" in codes


def test_colour_roles_are_swatches_and_brand_colours_are_guarded_by_contrast(live_server, page, django_user_model):
    template = _designer_opens_the_editor(page, live_server, django_user_model)
    roles = page.locator("#colour-roles li")
    assert roles.count() == 6
    on_primary = page.inner_text("#colour-roles li[data-role=on_primary]")
    assert "primary-coloured plate" in on_primary and "from product" in on_primary
    assert page.locator("#colour-roles li[data-role=text] .ratio").inner_text().endswith(":1 on background")

    # A pale grey for text on what is (for this product) a light background: warned, with the ratio.
    background = page.inner_text("#colour-roles li[data-role=background] code")
    pale = "#f4f4f4" if int(background[1:3], 16) > 128 else "#101010"
    src = page.get_attribute("#render", "src")
    page.locator("#colour-roles input[data-role=text]").fill(pale)
    _wait_rendered(page, src)
    note = page.inner_text("#colour-note")
    assert "below 4.5:1" in note and "text on background" in note
    assert "brand" in page.inner_text("#colour-roles li[data-role=text]")
    assert page.locator("#colour-roles li[data-role=text] .ratio.low").count() == 1
    assert _spec(page)["palette"] == {"text": pale}
    assert page.locator("#warnings li[data-code=palette_contrast]").count() == 1

    # A readable brand colour passes quietly.
    page.click("#colour-roles li[data-role=text] button")  # reset: follows the product again
    src = _wait_rendered(page, page.get_attribute("#render", "src"))
    page.locator("#colour-roles input[data-role=text]").fill("#000000" if pale == "#f4f4f4" else "#ffffff")
    assert "reach 4.5:1" in page.inner_text("#colour-note")
    _wait_rendered(page, src)
    assert page.locator("#warnings li[data-code=palette_contrast]").count() == 0
    page.click("#save")
    page.wait_for_selector("#save-status.ok")
    template.refresh_from_db()
    assert template.current_version.spec["palette"]["text"] in ("#000000", "#ffffff")
    page.screenshot(path=str(SCREENSHOTS / "editor-colours.png"), full_page=True)


def test_undo_and_redo_reach_back_fifty_edits_from_the_keyboard(live_server, page, django_user_model):
    _designer_opens_the_editor(page, live_server, django_user_model)
    page.click("#layer-list li[data-id=title]")
    start = _title_box(page)
    page.keyboard.press("ArrowDown")
    first = _title_box(page)
    for _ in range(54):
        page.keyboard.press("ArrowDown")
    moved = _title_box(page)
    assert moved["y"] == pytest.approx(first["y"] + 54 * 0.005, abs=1e-3)  # every key press counted

    for _ in range(55):
        page.keyboard.press("Control+z")
    assert _title_box(page) == start
    assert page.is_disabled("#undo")
    for _ in range(55):
        page.keyboard.press("Control+Shift+z")
    assert _title_box(page) == moved
    page.keyboard.press("Meta+z")  # Cmd+Z on a Mac
    assert _title_box(page) != moved
    page.click("#redo")
    assert _title_box(page) == moved


def test_the_spec_as_formatted_json_is_applied_only_when_valid(live_server, page, django_user_model):
    _designer_opens_the_editor(page, live_server, django_user_model)
    page.click("#spec-json-panel summary")
    text = page.input_value("#spec-json")
    assert text.startswith('{\n  "spec_version": 1,')  # formatted, two-space indents
    before = _spec(page)

    page.fill("#spec-json", text.replace('"max_lines": 2', '"max_lines": 2,,', 1))
    page.click("#spec-json-apply")
    page.wait_for_selector("#spec-json-status.error")
    assert "Not JSON" in page.inner_text("#spec-json-status") and "line" in page.inner_text("#spec-json-status")

    bad = json.loads(text)
    bad["layers"][4]["text"]["max_lines"] = 0
    page.fill("#spec-json", json.dumps(bad, indent=2))
    page.click("#spec-json-apply")
    page.wait_for_selector("#spec-json-status.error li")
    assert "layers[4]" in page.inner_text("#spec-json-status")
    page.click("#spec-json-reset")
    assert _spec(page) == before  # nothing invalid was taken up

    good = json.loads(text)
    good["layers"][4]["text"]["max_lines"] = 3
    page.fill("#spec-json", json.dumps(good))
    page.click("#spec-json-apply")
    page.wait_for_selector("#spec-json-status.ok")
    page.wait_for_function("document.body.dataset.renderState === 'ready'")
    assert _spec(page)["layers"][4]["text"]["max_lines"] == 3
    assert page.input_value("#spec-json").startswith('{\n  "spec_version"')  # shown formatted again
    page.screenshot(path=str(SCREENSHOTS / "editor-spec-json.png"), full_page=True)
