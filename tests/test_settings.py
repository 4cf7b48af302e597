"""Settings come from the environment: the production set passes Django's deploy check."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-" + "k3y-n0t-in-git-" * 4,
    "ALLOWED_HOSTS": "ads.example.com",
    "DATABASE_URL": "sqlite:////tmp/creativeadmin-check.sqlite3",
}


def _run(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    drop = {"DEBUG", "SECRET_KEY", "MEDIA_STORAGE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_settings_pass_the_deploy_check():
    result = _run(PRODUCTION_ENV, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_off_without_a_secret_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    result = _run(env, "manage.py", "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_secret_key_starting_with_a_dollar_sign_is_used_as_set():
    """Django's own key generator puts "$" first one time in fifty; such a key must not be read as the
    name of another variable (which left the worker without a key and refused to start)."""
    key = "$" + "k3y-n0t-in-git-" * 4
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY)"
    env = {**PRODUCTION_ENV, "SECRET_KEY": key, "DJANGO_SETTINGS_MODULE": "creativeadmin.settings"}

    result = _run(env, "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key


def test_s3_media_storage_is_private_with_expiring_urls():
    code = (
        "import django; django.setup(); from django.core.files.storage import storages; s = storages['default'];"
        "print(type(s).__name__, s.default_acl, s.querystring_auth, s.querystring_expire)"
    )
    env = {
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "creatives",
        "DJANGO_SETTINGS_MODULE": "creativeadmin.settings",
    }

    result = _run(env, "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["S3Storage", "private", "True", "3600"]


def test_broker_url_switches_celery_from_eager_to_real():
    code = "import django; django.setup(); from django.conf import settings as s; print(s.CELERY_TASK_ALWAYS_EAGER)"
    env = {"DJANGO_SETTINGS_MODULE": "creativeadmin.settings"}

    eager = _run(env, "-c", code)
    real = _run({**env, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}, "-c", code)

    assert eager.stdout.strip() == "True"
    assert real.stdout.strip() == "False"
