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
    for chart in ("#ctr-by-template", "#exposure-by-placement", "#score-vs-ctr"):
        assert page.locator(f"{chart} .main-svg").count() >= 1, chart  # plotly.js drew it
    assert page.locator("#ctr-by-template .scatterlayer .trace").count() >= 1


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
