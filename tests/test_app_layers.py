"""The apps depend one way: synthesis <- creativeadmin <- accounts, health <- templates_app <- campaigns
<- analytics <- demo. A module never imports an app above its own (docs/architecture.md).

- synthesis, the engine, imports no app at all (tests/test_synthesis_boundary.py keeps it free of Django).
- creativeadmin's library modules (errors, parsers, json_input, storage_paths, permissions, ...) sit
  under every app; its wiring (urls, settings, celery, wsgi, asgi) sits on top and may import any app.
- accounts (users, roles, the login throttle) and health (the health report) import no domain app.
- demo seeds every app, so it sits on top.

Where a lower app needs something only a higher one knows, the higher one registers it at start-up
(analytics registers the learned scorer in campaigns.scorers from AnalyticsConfig.ready()).
Tests are left out: a test may set up rows of several apps.
"""

from pathlib import Path

import pytest

from tests.test_synthesis_boundary import _imported_roots

ROOT = Path(__file__).resolve().parent.parent
PROJECT_APPS = ("synthesis", "creativeadmin", "accounts", "health", "templates_app", "campaigns", "analytics", "demo")
BASE = {"synthesis", "creativeadmin"}
ALLOWED = {
    "synthesis": set(),
    "creativeadmin": {"synthesis"},
    "accounts": BASE,
    "health": BASE,
    "templates_app": BASE | {"accounts"},
    "campaigns": BASE | {"accounts", "templates_app"},
    "analytics": BASE | {"accounts", "templates_app", "campaigns"},
    "demo": set(PROJECT_APPS),
}
WIRING = {"creativeadmin/urls.py", "creativeadmin/settings.py", "creativeadmin/celery.py", "creativeadmin/wsgi.py",
          "creativeadmin/asgi.py"}  # fmt: skip


def _sources():
    for app in PROJECT_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "tests" in relative.parts or relative.as_posix() in WIRING:
                continue
            yield app, relative


def _imported_apps(path: Path) -> set[str]:
    """The project apps a module imports, at its top or inside functions (absolute imports only)."""
    return _imported_roots(path) & set(PROJECT_APPS)


@pytest.mark.parametrize("app, path", list(_sources()), ids=lambda x: str(x) if isinstance(x, Path) else "")
def test_a_module_imports_only_apps_below_its_own(app, path):
    higher = _imported_apps(ROOT / path) - ALLOWED[app] - {app}
    assert not higher, f"{path} imports {sorted(higher)}, which sit above {app}"


def test_the_rule_catches_an_upward_import(tmp_path):
    module = tmp_path / "upward.py"
    module.write_text("def f():\n    from campaigns.selectors import product_list_by_skus\n")
    assert _imported_apps(module) - ALLOWED["templates_app"] == {"campaigns"}
