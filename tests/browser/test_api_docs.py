"""Swagger UI at /api/docs/ renders the API's operations under the Content-Security-Policy."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_swagger_ui_lists_the_operations_with_no_csp_violation(live_server, page, csp_violations, django_user_model):
    """A signed-in user opens the API docs: Swagger UI (static files, its init script from `?script`) loads the
    schema and lists the operations, and the page's policy refuses nothing it needs."""
    django_user_model.objects.create_user("dev", password="pw-dev-long", is_staff=True)
    page.goto(f"{live_server.url}/admin/login/?next=/api/docs/")
    page.fill("#id_username", "dev")
    page.fill("#id_password", "pw-dev-long")
    page.click("input[type=submit]")

    page.wait_for_selector(".opblock", timeout=20_000)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"), full_page=False)
    assert page.locator(".opblock").count() >= 20  # every operation of the schema has its block
    assert "Creative Admin API" in page.locator(".information-container .title").inner_text()
    assert csp_violations == []
