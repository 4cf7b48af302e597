"""An analyst logs in and the dashboard draws its Plotly charts from the seeded demo data."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


LINK = 'Winter <a href="https://evil.example/login">Session expired - sign in again</a>'


def test_analyst_sees_the_charts_drawn(live_server, page, csp_violations, settings, tmp_path, monkeypatch):
    """The dashboard draws every chart under the Content-Security-Policy (no violation), and a template named
    with an <a href> shows in the legend as text, not as a link."""
    from django.db.models import Count

    from campaigns.models import Creative
    from templates_app.models import Template

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")
    call_command("seed_demo", stdout=io.StringIO())
    # A designer's hostile name, on the template most of the demo's creatives use (so the chart has it).
    busiest = Creative.objects.values("template_version__template").annotate(n=Count("pk")).order_by("-n", "pk").first()
    Template.objects.filter(pk=busiest["template_version__template"]).update(name=LINK)

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
    legend = page.locator("#ctr-by-template .legend")
    assert LINK in legend.text_content()  # the characters, shown as text
    assert legend.locator("a").count() == 0  # and no link drawn from them
    assert csp_violations == []


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


def test_operator_creates_a_campaign_from_the_demo_generates_approves_and_serves(
    live_server, page, settings, tmp_path, monkeypatch
):
    """From the seeded demo: the operator adds a placement and a campaign in the admin (demo copy,
    products and published templates), generates, watches the job reach 100%, approves in the
    gallery, goes live, and the placement is served one of the new creatives."""
    from campaigns.models import Campaign, GenerationJob, Placement

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")
    call_command("seed_demo", stdout=io.StringIO())

    page.goto(f"{live_server.url}/admin/login/?next=/admin/campaigns/placement/add/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "creative-demo")
    page.click("input[type=submit]")
    # The placement to fill: search results, one MPU size.
    page.fill("#id_name", "Search results MPU")
    page.select_option("#id_channel", "search")
    page.fill("#id_sizes", "[[300, 250]]")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    placement = Placement.objects.get(name="Search results MPU")

    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    page.fill("#id_name", "Spring push")
    page.select_option("#id_copy", label="Winter sale")
    page.select_option("#id_products_from", label=str(_demo_product("YX-DOWN-001")))
    page.click("#id_products_add")
    page.select_option("#id_templates_from", label=str(_demo_template("single-hero")))
    page.click("#id_templates_add")
    page.select_option("#id_placements_from", label=str(placement))
    page.click("#id_placements_add")
    page.fill("#id_top_k", "2")
    page.fill("#id_candidates_per_size", "8")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    campaign = Campaign.objects.get(name="Spring push")
    assert list(campaign.products.values_list("sku", flat=True)) == ["YX-DOWN-001"]
    assert campaign.copy.name == "Winter sale" and campaign.status == Campaign.Status.DRAFT

    page.check(f"input[name=_selected_action][value='{campaign.pk}']")
    page.select_option("select[name=action]", "generate")
    page.click("button[name=index]")
    job = GenerationJob.objects.get(campaign=campaign)
    page.goto(f"{live_server.url}/admin/campaigns/generationjob/{job.pk}/change/")
    page.wait_for_function("() => document.querySelector('progress[data-job]').value >= 1", timeout=60_000)

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
    made = Creative.objects.filter(campaign=campaign)
    assert made.count() == 2 and set(made.values_list("state", flat=True)) == {"approved"}
    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    page.check(f"input[name=_selected_action][value='{campaign.pk}']")
    page.select_option("select[name=action]", "go_live")
    page.click("button[name=index]")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LIVE
    served = page.request.get(
        f"{live_server.url}/api/v1/serve/{placement.pk}?size=300x250",
        headers={"X-Placement-Key": placement_key_issue(placement=placement)},
    )
    assert served.status == 200
    assert served.json()["creative_id"] in set(Creative.objects.filter(campaign=campaign).values_list("pk", flat=True))


def _demo_product(sku: str):
    from campaigns.models import Product

    return Product.objects.get(sku=sku)


def _demo_template(name: str):
    from templates_app.models import Template

    return Template.objects.get(name=name)
