"""A designer opens a template's preview sheet: every size drawn by the engine, errors marked."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def test_designer_sees_every_size_of_the_template(live_server, page, django_user_model):
    from django.contrib.auth.models import Group

    from templates_app.services import SHEET_SIZES, template_create

    user = django_user_model.objects.create_user("des", password="pw-des-long", is_staff=True)
    user.groups.add(Group.objects.get(name="Designers"))
    spec = json.loads((ROOT / "synthesis" / "templates" / "scene-podium.json").read_text())
    template = template_create(name="scene-podium", spec=spec)

    page.goto(f"{live_server.url}/admin/login/?next=/templates/{template.pk}/sheet/")
    page.fill("#id_username", "des")
    page.fill("#id_password", "pw-des-long")
    page.click("input[type=submit]")
    page.wait_for_selector(".sheet-cell img")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "preview-sheet.png"), full_page=True)

    sizes = page.evaluate(
        "[...document.querySelectorAll('.sheet-cell img')].map(i => [i.naturalWidth, i.naturalHeight])"
    )
    # every size, each drawn at its size, for the fewest and the most products the template takes
    assert set(map(tuple, sizes)) == set(SHEET_SIZES) and len(sizes) % len(SHEET_SIZES) == 0
    assert page.locator(".sheet-ok").count() == 1
