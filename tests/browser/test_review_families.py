"""An operator reviews the demo campaign by design family: one row per look, its sizes side by side."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_operator_approves_a_design_family_row_with_all_its_sizes(live_server, page, settings, tmp_path, monkeypatch):
    from campaigns.models import Creative

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROOT_URLCONF = "tests.browser.media_urls"
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")
    call_command("seed_demo", stdout=io.StringIO())
    image = Creative.objects.filter(format="image").exclude(family="").order_by("pk").first()
    assert image is not None, "the demo makes image creatives in design families"
    Creative.objects.filter(campaign_id=image.campaign_id).update(state="pending")  # the demo approved them all

    page.goto(f"{live_server.url}/admin/login/?next=/campaigns/{image.campaign_id}/review/?format=image")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "creative-demo")
    page.click("input[type=submit]")
    page.wait_for_selector(".family-row")  # the gallery, not the login page the click leaves
    page.wait_for_function("() => [...document.images].every(img => img.complete)")

    rows = page.locator(".family-row")
    assert rows.count() >= 2
    for i in range(rows.count()):  # a row holds one family: every size once
        row = rows.nth(i)
        family = row.get_attribute("data-family")
        ids = [int(v) for v in row.locator("input[name=creative]").evaluate_all("els => els.map(e => e.value)")]
        stored = Creative.objects.filter(pk__in=ids)
        assert {c.family for c in stored} == {family}
        assert len({(c.width, c.height) for c in stored}) == len(ids) > 1
    first = rows.nth(0)
    first.locator("input[name=row]").check()
    assert first.locator("input[name=creative]:checked").count() == first.locator("input[name=creative]").count()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review-families.png"), full_page=False)
    family = first.get_attribute("data-family")
    page.click("button[value=approve]")
    page.wait_for_selector(".messages li")

    approved = Creative.objects.filter(campaign_id=image.campaign_id, state="approved", format="image")
    assert set(approved.values_list("family", flat=True)) >= {family}
    assert Creative.objects.filter(family=family, campaign_id=image.campaign_id).exclude(state="approved").count() == 0
    assert (
        page.locator(f'.family-row[data-family="{family}"] .creative.state-approved').count()
        == first.locator(".creative").count()
    )
