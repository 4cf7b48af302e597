"""Headless Chromium (Debian's package) driven by Playwright against the live test server.

Never downloads a browser: it uses /usr/bin/chromium. Without it the browser tests are
skipped on a developer machine and fail under CI (which installs it).
"""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium for the browser tests (apt-get install chromium).")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    # Playwright's sync API keeps an event loop running; the ORM calls in these tests are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def role_groups(transactional_db):
    """Live-server tests flush the database between tests, data migrations included: put the roles back."""
    from importlib import import_module

    from django.apps import apps

    from accounts.roles import sync_role_groups

    sync_role_groups(apps, import_module("accounts.migrations.0008_product_image_permissions").TABLE)


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


# Reports every Content-Security-Policy violation in the page (and its frames) to the test.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__reportCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


@pytest.fixture
def csp_violations(page) -> list[str]:
    """What the site's Content-Security-Policy refused on the pages this test opens: `securitypolicyviolation`
    events, and Chromium's console errors naming the policy (in case an event is missed). Empty means none."""
    found: list[str] = []
    page.expose_function("__reportCspViolation", lambda text: found.append(text))
    page.add_init_script(_CSP_LISTENER)
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found
