"""An analyst logs in and the dashboard draws its Plotly charts from the seeded demo data."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_analyst_sees_the_charts_drawn(live_server, page, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")
    call_command("seed_demo", stdout=io.StringIO())

    page.goto(f"{live_server.url}/admin/login/?next=/dashboards/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", "creative-demo")
    page.click("input[type=submit]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_selector("#ctr-by-template .main-svg", timeout=20_000)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    assert page.locator(".leaderboard tbody tr").count() >= 1
    for chart in (
        "#ctr-by-template",
        "#exposure-by-placement",
        "#ctr-by-campaign",
        "#cvr-by-campaign",
        "#score-vs-ctr",
        "#ctr-by-colour",
    ):
        assert page.locator(f"{chart} .main-svg").count() >= 1, chart  # plotly.js drew it
    assert page.locator("#ctr-by-template .scatterlayer .trace").count() >= 1
    assert page.locator(".elements tbody tr").count() >= 8  # element-level attribution rows
    assert "CTR model trained" in page.locator(".ctr-model").inner_text()


def test_designer_is_refused_the_dashboard(live_server, page, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("d2", password="pw-d2-long", is_staff=True)
    user.groups.add(Group.objects.get(name="Designers"))

    page.goto(f"{live_server.url}/admin/login/?next=/dashboards/")
    page.fill("#id_username", "d2")
    page.fill("#id_password", "pw-d2-long")
    page.click("input[type=submit]")
    response = page.goto(f"{live_server.url}/dashboards/")

    assert response.status == 403


def test_operator_watches_a_generation_job_reach_100_percent(live_server, page, django_user_model):
    import json as _json
    from decimal import Decimal

    from django.contrib.auth.models import Group

    from campaigns.models import AdCopySet, Campaign, GenerationJob, Placement
    from campaigns.services import product_upsert
    from synthesis.samples import product_photo
    from templates_app.services import template_create, template_publish

    user = django_user_model.objects.create_user("op2", password="pw-op2-long", is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))
    spec = _json.loads((Path(__file__).resolve().parents[2] / "synthesis/templates/single-hero.json").read_text())
    campaign = Campaign.objects.create(
        name="Browser", copy=AdCopySet.objects.create(name="b", titles=["羽绒服"]), top_k=1, candidates_per_size=6
    )
    campaign.templates.add(template_publish(template=template_create(name="hero-b", spec=spec)))
    campaign.placements.add(Placement.objects.create(name="p-b", channel="dsp", sizes=[[300, 250]]))
    buf = io.BytesIO()
    product_photo((178, 34, 52), size=300).image.save(buf, format="JPEG")
    campaign.products.add(product_upsert(sku="B-1", title="x", price=Decimal("9"), image_data=buf.getvalue()))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/campaigns/campaign/")
    page.fill("#id_username", "op2")
    page.fill("#id_password", "pw-op2-long")
    page.click("input[type=submit]")
    page.check(f"input[name=_selected_action][value='{campaign.pk}']")
    page.select_option("select[name=action]", "generate")
    page.click("button[name=index]")
    job = GenerationJob.objects.get(campaign=campaign)
    page.goto(f"{live_server.url}/admin/campaigns/generationjob/{job.pk}/change/")
    page.wait_for_function("document.querySelector('progress[data-job]').value >= 1", timeout=30_000)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "generation-job.png"), full_page=True)
    assert "100%" in page.locator("progress[data-job] + span").inner_text()

    # Review: approve the generated creatives in the gallery, go live, and a placement is served one.
    from campaigns.models import Creative
    from campaigns.serving import placement_key_issue

    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/review/")
    page.check("#select-all")
    page.click("button[value=approve]")
    page.wait_for_selector(".messages li")
    assert set(Creative.objects.filter(campaign=campaign).values_list("state", flat=True)) == {"approved"}
    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    page.check(f"input[name=_selected_action][value='{campaign.pk}']")
    page.select_option("select[name=action]", "go_live")
    page.click("button[name=index]")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LIVE
    placement = campaign.placements.get()
    served = page.request.get(
        f"{live_server.url}/api/v1/serve/{placement.pk}?size=300x250",
        headers={"X-Placement-Key": placement_key_issue(placement=placement)},
    )
    assert served.status == 200
    assert served.json()["creative_id"] in set(Creative.objects.filter(campaign=campaign).values_list("pk", flat=True))
