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


def _workers():
    if not settings.CELERY_BROKER_URL:
        return "in-process (eager)"
    from creativeadmin.celery import app

    replies = app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping within 1 s")
    names = sorted(name for reply in replies for name in reply)
    return f"{len(names)} answering: {', '.join(names)}"


def storage_bucket_ensure() -> str:
    """Create the S3 bucket when it is missing (for S3 stand-ins such as moto or MinIO); returns its name."""
    if settings.MEDIA_STORAGE != "s3":
        return ""
    from botocore.exceptions import ClientError

    client = default_storage.connection.meta.client
    bucket = default_storage.bucket_name
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        client.create_bucket(Bucket=bucket)
    return bucket


def health_report() -> dict:
    checks = {
        "database": _check(_database),
        "broker": _check(_broker),
        "storage": _check(_storage),
        "workers": _check(_workers),
    }
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
