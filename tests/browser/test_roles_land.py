"""Issue 20, items 4 and 5, in Chromium from the seeded demo.

An analyst logs in and lands on the dashboards, reads every rate in percent, sees conversion charts
with data and labels clear of the error bars, and is told when a date filter is not a date. An
operator finds the dashboards and review galleries on the admin index, reads a published template's
preview sheet, and meets a 403/404 page in the site's look with a way back.
"""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def demo(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")
    call_command("seed_demo", stdout=io.StringIO())


def _login(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/")  # no ?next: where the role lands is the site's choice
    page.fill("#id_username", username)
    page.fill("#id_password", "creative-demo")
    page.click("input[type=submit]")


def _overlap(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or
                a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])  # fmt: skip


def test_an_analyst_lands_on_the_dashboards_and_reads_percentages(live_server, page, csp_violations, demo):
    _login(page, live_server, "analyst")
    page.wait_for_url(re.compile(r"/dashboards/$"))
    page.wait_for_selector("#ctr-by-colour .main-svg", timeout=20_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-percent.png"), full_page=True)

    rates = page.locator(".leaderboard td.num").all_inner_texts()
    assert rates and all(re.fullmatch(r"\d+\.\d\d %|\d+\.\d\d–\d+\.\d\d %", r) for r in rates), rates
    # The demo has orders: the campaign's CVR is above zero somewhere, and the chart drew points.
    cvr = [float(r.split()[0]) for r in page.locator(".leaderboard:not(.elements) td.num").all_inner_texts()[2::3]]
    assert max(cvr) > 0
    assert page.locator("#cvr-by-campaign .scatterlayer .point").count() >= 5
    ticks = page.locator("#ctr-by-template .ytick text").all_text_contents()
    assert ticks and all(t.endswith("%") for t in ticks)

    # Axis titles clear of their tick labels, and no label drawn on a bar under its error bar.
    for chart in ("#ctr-by-template", "#ctr-by-colour", "#cvr-by-campaign", "#score-vs-ctr"):
        title = page.locator(f"{chart} .ytitle").bounding_box()
        for tick in page.locator(f"{chart} .ytick text").all():
            assert not _overlap(title, tick.bounding_box()), chart
    assert page.locator("#ctr-by-colour .bartext").count() == 0
    labels = [t.bounding_box() for t in page.locator("#ctr-by-colour .xtick text").all()]
    assert "imp." in page.locator("#ctr-by-colour .xtick text").first.text_content()
    for i in range(len(labels) - 1):
        assert not _overlap(labels[i], labels[i + 1])
    assert csp_violations == []

    # A date the browser cannot read: said, not silently dropped.
    page.focus("input[name=from]")
    page.keyboard.press("Backspace")  # clears its month: the rest of the date is left, half a date
    assert page.evaluate("document.querySelector('input[name=from]').validity.badInput")
    page.click(".filters button[type=submit]")
    assert "From: not a complete date" in page.inner_text(".filter-errors.client")
    # A bad date in the address: the page names the filter and the value, with a way out.
    page.goto(f"{live_server.url}/dashboards/?from=2026-02-30")
    assert "From (from=2026-02-30): Enter a date as YYYY-MM-DD." in page.inner_text(".filter-errors")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-bad-date.png"), full_page=True)
    page.click("text=show the last 14 days")
    page.wait_for_selector(".leaderboard")


def test_an_operator_finds_the_work_and_reads_a_published_sheet(live_server, page, csp_violations, demo):
    from templates_app.models import Template

    _login(page, live_server, "operator")
    page.wait_for_selector("#work-links")
    links = page.locator("#work-links a").all_inner_texts()
    assert "Dashboards" in links and any(link.startswith("Review gallery:") for link in links)
    page.screenshot(path=str(SCREENSHOTS / "admin-index-operator.png"), full_page=True)
    page.click("#work-links a:text-is('Review gallery: " + links[1].split(": ", 1)[1] + "')")
    page.wait_for_url(re.compile(r"/campaigns/\d+/review/$"))

    published = Template.objects.filter(status="published", kind="image").order_by("name").first()
    page.goto(f"{live_server.url}/admin/templates_app/template/")
    assert page.locator("text=Visual editor").count() == 0
    page.locator("tr", has_text=published.name).locator("text=Preview sheet").click()
    page.wait_for_selector(".sheet-cell img")
    assert "Read-only" in page.inner_text("main")
    assert page.locator(".sheet-cell").count() >= 4
    page.screenshot(path=str(SCREENSHOTS / "sheet-operator.png"), full_page=True)

    response = page.goto(f"{live_server.url}/templates/{published.pk}/editor/")
    assert response.status == 403
    assert "Not allowed for your role" in page.inner_text("main")
    assert page.locator("header .brand").count() == 1  # the site's header
    page.screenshot(path=str(SCREENSHOTS / "page-403.png"), full_page=True)
    page.click(".ways-back >> text=Admin home")
    page.wait_for_selector("#work-links")

    response = page.goto(f"{live_server.url}/campaigns/99999/nothing/")
    assert response.status == 404
    assert "Nothing here" in page.inner_text("main")
    page.screenshot(path=str(SCREENSHOTS / "page-404.png"), full_page=True)
    page.click(".ways-back >> text=Dashboards")
    page.wait_for_url(re.compile(r"/dashboards/$"))
    assert csp_violations == []
