"""The pages a first-time visitor opens: start page, API schema and docs, health."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_start_page_leads_to_admin_docs_and_dashboards(client):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    for href in ('href="/admin/"', 'href="/dashboards/"', 'href="/api/docs/"'):
        assert href in html


def test_schema_is_openapi_3(client, operator):
    client.force_login(operator)

    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/products/" in schema["paths"]


def test_swagger_ui_is_served_from_static_files_not_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in a for a in assets)
    assert all(not a.startswith(("http://", "https://", "//")) for a in assets), assets


def test_swagger_static_bundle_is_reachable(client):
    html = client.get("/api/docs/").content.decode()
    bundle = next(a for a in re.findall(r'src="([^"]+)"', html) if "swagger-ui-bundle" in a)

    response = client.get(bundle)

    assert response.status_code == 200


def test_health_reports_database_broker_storage_and_workers(client):
    response = client.get("/api/v1/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert set(body["checks"]) == {"database", "broker", "storage", "workers"}
    assert "eager" in body["checks"]["broker"]["detail"]
    assert "in-process" in body["checks"]["workers"]["detail"]


def test_health_is_not_ok_when_no_worker_answers(client, settings, monkeypatch):
    from creativeadmin.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # a broker is configured: workers are expected
    monkeypatch.setattr("health.services._broker", lambda: "reachable")
    monkeypatch.setattr(app.control, "ping", lambda timeout: [])

    body = client.get("/api/v1/health/").json()

    assert body["ok"] is False
    assert body["checks"]["workers"] == {
        "ok": False,
        "error": "RuntimeError: no Celery worker answered a ping within 1 s",
    }
