"""PostgreSQL migrates from zero, and the migrations reverse cleanly back to zero."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database(real_services):
    db = settings.DATABASES["default"]
    name = f"ca_migrate_{uuid.uuid4().hex[:8]}"
    admin_dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname=postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}", f"{admin_dsn[: -len('postgres')]}{name}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_migrate_from_zero_creates_the_roles_and_reverses(empty_database):
    url, dsn = empty_database

    forward = _manage(url, "migrate", "--noinput")
    assert forward.returncode == 0, forward.stderr
    with psycopg.connect(dsn) as conn:
        groups = {r[0] for r in conn.execute("SELECT name FROM auth_group")}
    assert groups == {"Designers", "Operators", "Analysts"}

    check = _manage(url, "makemigrations", "--check", "--dry-run")
    assert check.returncode == 0, "models and migrations disagree:\n" + check.stdout

    for app in ("accounts", "analytics", "campaigns", "templates_app"):
        back = _manage(url, "migrate", app, "zero", "--noinput")
        assert back.returncode == 0, back.stderr
    with psycopg.connect(dsn) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        groups_left = conn.execute("SELECT count(*) FROM auth_group").fetchone()[0]
    assert not {"campaigns_product", "templates_app_font", "templates_app_asset"} & tables
    assert groups_left == 0
