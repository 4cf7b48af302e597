"""Health checks of the components a request or a job depends on."""

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection


def _check(fn) -> dict:
    try:
        detail = fn()
        return {"ok": True, **({"detail": detail} if detail else {})}
    except Exception as exc:  # a health check reports any failure, it never raises
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _broker():
    if not settings.CELERY_BROKER_URL:
        return "eager (tasks run in-process)"
    from creativeadmin.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "reachable"


def _storage():
    name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    default_storage.delete(name)
    return settings.MEDIA_STORAGE


def health_report() -> dict:
    checks = {"database": _check(_database), "broker": _check(_broker), "storage": _check(_storage)}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
