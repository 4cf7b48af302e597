"""Issue 20, item 6, in Chromium from the seeded demo: a favicon on every page, placement sizes in
people's terms, the webhook secret shown once then masked, and the template and creative lists that
fit a 1280-pixel window."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def operator_in(live_server, page, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")
    call_command("seed_demo", stdout=io.StringIO())
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "creative-demo")
    page.click("input[type=submit]")
    page.wait_for_selector("#work-links")
    return page


def _fits(page) -> dict:
    """The page against the window, and the result table against its box (the admin scrolls a too-wide
    table inside `.results`, hiding its right-hand columns)."""
    return page.evaluate(
        """({page: document.documentElement.scrollWidth, window: window.innerWidth,
            table: document.querySelector('#result_list').scrollWidth,
            box: document.querySelector('.results').clientWidth})"""
    )


def test_favicon_sizes_secret_and_lists_that_fit(live_server, operator_in, csp_violations):
    page = operator_in
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)

    # The favicon: linked from the admin and the site's pages, and /favicon.ico leads to it.
    icon = page.get_attribute("link[rel=icon]", "href")
    assert icon.endswith(".svg")
    response = page.goto(f"{live_server.url}/favicon.ico")
    assert response.status == 200 and "svg" in response.headers["content-type"]
    page.goto(f"{live_server.url}/dashboards/")
    assert page.get_attribute("link[rel=icon]", "href") == icon

    # Sizes in the placement list and form, typed the same way back.
    page.goto(f"{live_server.url}/admin/campaigns/placement/")
    cells = page.locator("td.field-sizes_shown").all_inner_texts()
    assert cells and all(re.fullmatch(r"\d+×\d+(, \d+×\d+)*", c) for c in cells), cells
    page.click("text=Add placement")
    page.fill("#id_name", "Banner row")
    page.fill("#id_sizes", "728x90, 300×250")
    page.select_option("#id_channel", index=1)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert page.locator("tr", has_text="Banner row").locator("td.field-sizes_shown").inner_text() == "728×90, 300×250"
    page.screenshot(path=str(SCREENSHOTS / "admin-placements.png"), full_page=True)

    # The webhook secret: in full in the message after adding the campaign, masked on its page after that.
    from campaigns.models import Campaign

    page.goto(f"{live_server.url}/admin/campaigns/campaign/add/")
    page.fill("#id_name", "Spring")
    page.select_option("#id_copy", index=1)
    for field in ("products", "templates", "placements"):
        page.select_option(f"#id_{field}_from", index=0)
        page.click(f"#id_{field}_add")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    secret = Campaign.objects.get(name="Spring").webhook_secret
    assert secret in page.inner_text(".messagelist")
    assert secret not in page.inner_text(".field-webhook_secret_shown")
    assert secret[-4:] in page.inner_text(".field-webhook_secret_shown")
    page.reload()
    assert secret not in page.content()

    # The lists fit 1280 px: no sideways scrolling.
    for path in (
        "/admin/templates_app/template/",
        "/admin/campaigns/creative/",
        "/admin/campaigns/placement/",
        "/admin/campaigns/campaign/",
        "/admin/campaigns/product/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector("#result_list")
        name = path.strip("/").split("/")[-1]
        page.screenshot(path=str(SCREENSHOTS / f"admin-{name}-list-1280.png"), full_page=True)
        fit = _fits(page)
        assert fit["page"] <= fit["window"] and fit["table"] <= fit["box"], (path, fit)
    # The designer's template list has one more column, the visual editor's link.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/templates_app/template/")
    page.fill("#id_username", "designer")
    page.fill("#id_password", "creative-demo")
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list >> text=Visual editor")
    page.screenshot(path=str(SCREENSHOTS / "admin-template-list-designer-1280.png"), full_page=True)
    fit = _fits(page)
    assert fit["page"] <= fit["window"] and fit["table"] <= fit["box"], ("designer", fit)
    assert not [u for u in missing if "favicon" in u]
    assert csp_violations == []
