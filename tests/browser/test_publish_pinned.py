"""Published means pinned (issue 20 item 1), as a designer meets it in the visual editor.

What must hold: saving a published template in the editor makes a draft, and a campaign generated
afterwards still takes its creatives from the published version; Publish on a draft with hard errors
is refused with each error in words, and clicking one selects its layer at the size where it fails;
Publish on a clean draft succeeds and campaigns use it from then on.
"""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _wait_rendered(page, previous_src: str | None = None):
    page.wait_for_function(
        "([prev]) => document.body.dataset.renderState === 'ready' && document.getElementById('render').src !== prev",
        arg=[previous_src],
    )
    return page.get_attribute("#render", "src")


def _campaign_with(template):
    """A campaign on one 728×90 placement with one product, using `template`."""
    from campaigns.models import AdCopySet, Campaign, Placement
    from campaigns.services import product_upsert
    from synthesis.samples import product_photo

    photo = io.BytesIO()
    product_photo((178, 34, 52), size=400).image.convert("RGB").save(photo, format="JPEG")
    campaign = Campaign.objects.create(
        name="Winter",
        copy=AdCopySet.objects.create(name="winter", titles=["冬季羽绒服 限时直降"]),
        top_k=1,
        candidates_per_size=2,
    )
    campaign.templates.add(template)
    campaign.placements.add(Placement.objects.create(name="feed", channel="recommendation", sizes=[[728, 90]]))
    campaign.products.add(product_upsert(sku="A-1", title="羽绒服", price=Decimal("699"), image_data=photo.getvalue()))
    return campaign


def _generated_versions(campaign) -> set[int]:
    from campaigns.models import Creative
    from campaigns.services import generation_job_start

    Creative.objects.filter(campaign=campaign).delete()
    generation_job_start(campaign=campaign)  # Celery runs eagerly here, once the job is committed
    return {c.template_version.number for c in Creative.objects.filter(campaign=campaign)}


def test_a_saved_draft_stays_off_campaigns_until_a_clean_publish(
    live_server, page, csp_violations, django_user_model, media
):
    from django.contrib.auth.models import Group

    from templates_app.models import Template
    from templates_app.services import template_create, template_publish

    designer = django_user_model.objects.create_user("des", password="pw-des-long", is_staff=True)
    designer.groups.add(Group.objects.get(name="Designers"))
    spec = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())
    template = template_publish(template=template_create(name="single-hero", spec=spec))
    campaign = _campaign_with(template)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/admin/login/?next=/templates/{template.pk}/editor/")
    page.fill("#id_username", "des")
    page.fill("#id_password", "pw-des-long")
    page.click("input[type=submit]")
    first = _wait_rendered(page)
    assert page.inner_text("#published-label") == "Published: version 1"
    assert page.inner_text("#publish") == "Version 1 is published"

    # The edit: the title dragged onto the product. The live status says it fails here.
    title = page.locator(".box[data-id=title]").bounding_box()
    product = page.locator(".box[data-id=product]").bounding_box()
    page.mouse.move(title["x"] + title["width"] / 2, title["y"] + title["height"] / 2)
    page.mouse.down()
    page.mouse.move(product["x"] + product["width"] / 2, product["y"] + product["height"] / 2, steps=8)
    page.mouse.up()
    _wait_rendered(page, first)
    page.wait_for_selector("#checks-summary.bad")
    assert "The title covers the product at 1080×1080." in page.inner_text("#warnings")
    assert page.is_disabled("#publish")  # unsaved: Publish publishes saved versions only

    page.click("#save")
    page.wait_for_selector("#save-status.ok")
    assert page.inner_text("#save-status") == (
        "Saved as draft version 2. Campaigns still use version 1 until you publish."
    )
    template.refresh_from_db()
    assert template.status == Template.Status.PUBLISHED and template.published_version.number == 1
    assert _generated_versions(campaign) == {1}  # the campaign still uses the published version

    # Publish the draft: refused, every hard error in words.
    page.click("#publish")
    page.wait_for_selector("#publish-status.error", timeout=60_000)
    assert page.inner_text("#publish-status").startswith("Not published: ")
    reasons = page.locator("#publish-errors li")
    assert "The title covers the product at 1080×1080." in reasons.all_inner_texts()
    # Clicking a reason shows its layer, selected, at the size where it fails.
    page.select_option("#size", label="728×90 (leaderboard)")
    page.wait_for_selector("body[data-render-state=ready] #render[data-size='728x90']")
    page.click("#publish-errors li:has-text('The title covers the product at 1080×1080.')")
    page.wait_for_selector("body[data-render-state=ready] #render[data-size='1080x1080']")
    assert page.locator(".box.selected").get_attribute("data-id") == "title"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "publish-refused.png"), full_page=True)
    template.refresh_from_db()
    assert template.published_version.number == 1

    # Undo the drag, save the clean draft (version 3) and publish it.
    page.click("#undo")
    page.click("#save")
    page.wait_for_selector("#save-status.ok:has-text('version 3')")
    page.click("#publish")
    page.wait_for_selector("#publish-status.ok", timeout=60_000)
    assert page.inner_text("#publish-status") == "Version 3 published: campaigns use it from now on."
    assert page.inner_text("#published-label") == "Published: version 3"
    assert page.inner_text("#publish-errors") == ""
    page.screenshot(path=str(SCREENSHOTS / "publish-done.png"), full_page=True)
    template.refresh_from_db()
    assert template.published_version.number == 3 and not template.has_unpublished_changes
    assert _generated_versions(campaign) == {3}
    assert errors == [] and csp_violations == []


def test_the_admin_page_says_what_is_published_and_publishes_the_draft(live_server, page, django_user_model, media):
    """What must hold: the template's admin page says "Published: v1, draft v2 (unpublished changes)" and its
    Publish button pins the draft, after which the page says "Published: v2"."""
    from django.contrib.auth.models import Group

    from templates_app.services import template_create, template_publish, template_version_save

    designer = django_user_model.objects.create_user("des", password="pw-des-long", is_staff=True)
    designer.groups.add(Group.objects.get(name="Designers"))
    spec = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())
    template = template_publish(template=template_create(name="single-hero", spec=spec))
    template_version_save(template=template, spec={**spec, "tags": ["winter"]}, note="winter tag")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/templates_app/template/{template.pk}/change/")
    page.fill("#id_username", "des")
    page.fill("#id_password", "pw-des-long")
    page.click("input[type=submit]")
    assert page.inner_text(".template-versions strong") == "Published: v1, draft v2 (unpublished changes)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "publish-admin-draft.png"))

    page.click("button:has-text('Publish v2')")
    page.wait_for_selector(".messagelist", timeout=60_000)

    assert "Single-hero version 2 published" in page.inner_text(".messagelist")
    assert "Published: v2" in page.inner_text("#result_list")
    template.refresh_from_db()
    assert template.published_version.number == 2


def test_a_sheet_problem_opens_the_editor_at_its_size_with_its_layer_selected(
    live_server, page, csp_violations, django_user_model, media
):
    """Issue 20 item 2: "The title covers the product at 1080×1350." on the preview sheet is a link; following
    it opens the editor at 1080×1350 with the title selected and the same sentence in its live checks."""
    from django.contrib.auth.models import Group

    from templates_app.services import template_create

    designer = django_user_model.objects.create_user("des", password="pw-des-long", is_staff=True)
    designer.groups.add(Group.objects.get(name="Designers"))
    spec = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())
    for layer in spec["layers"]:
        if layer["role"] == "product":
            layer["boxes"] = {c: {"x": 0.1, "y": 0.1, "w": 0.8, "h": 0.8} for c in ("square", "tall", "wide", "banner")}
        if layer["role"] == "title":
            layer["boxes"] = {c: {"x": 0.1, "y": 0.4, "w": 0.8, "h": 0.2} for c in ("square", "tall", "wide", "banner")}
    template = template_create(name="covered", spec=spec)

    page.goto(f"{live_server.url}/admin/login/?next=/templates/{template.pk}/sheet/")
    page.fill("#id_username", "des")
    page.fill("#id_password", "pw-des-long")
    page.click("input[type=submit]")
    page.click("a.violation:has-text('The title covers the product at 1080×1350.')")
    page.wait_for_selector("body[data-render-state=ready] #render[data-size='1080x1350']")

    assert page.locator(".box.selected").get_attribute("data-id") == "title"
    assert "title" in page.inner_text("#layer-list .selected")
    assert "The title covers the product at 1080×1350." in page.inner_text("#warnings")
    page.screenshot(path=str(SCREENSHOTS / "sheet-problem-to-editor.png"))
    assert csp_violations == []
