"""Fixtures shared by every test suite: demo-like users per role; webhooks may call local receivers;
generation jobs run inline; stored files under the test's own MEDIA_ROOT, caches under the session's VAR_DIR."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from accounts.roles import ANALYSTS, DESIGNERS, OPERATORS


@pytest.fixture(autouse=True)
def _webhooks_to_local_receivers(settings):
    """As in the demo: the tests' webhook receivers listen on 127.0.0.1 (tests/security/test_ssrf.py turns it off)."""
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True


@pytest.fixture(autouse=True)
def _jobs_inline(settings):
    """Generation jobs run inline, as Celery's eager mode does: when the call returns the job is finished
    (the embedded default runs them on a background thread; a test that means to turn it back on says so)."""
    settings.CREATIVE_JOBS_IN_BACKGROUND = False


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path_factory):
    """VAR_DIR's caches (remote footage, footage sound) in the session's temporary directory, not in var/."""
    settings.VAR_DIR = tmp_path_factory.getbasetemp() / "var"


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """MEDIA_ROOT in the test's own temporary directory (what the test stores lands there, and goes with it).

    A test module whose every test stores files uses it with `pytestmark = pytest.mark.usefixtures("media")`.
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _user(django_user_model, username: str, role: str | None, superuser: bool = False):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, is_staff=True)
    user.is_superuser = superuser
    user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def designer(django_user_model):
    return _user(django_user_model, "designer", DESIGNERS)


@pytest.fixture
def operator(django_user_model):
    return _user(django_user_model, "operator", OPERATORS)


@pytest.fixture
def analyst(django_user_model):
    return _user(django_user_model, "analyst", ANALYSTS)


@pytest.fixture
def role_user(request, django_user_model):
    """Parametrise with a role name ('designer', 'operator', 'analyst', 'anonymous')."""
    role = request.param
    if role == "anonymous":
        return None
    return _user(django_user_model, role, {"designer": DESIGNERS, "operator": OPERATORS, "analyst": ANALYSTS}[role])
