"""The admin and the pages around it: CSRF, session rotation, login throttling, escaped names."""

import io
import json
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts import services as accounts_services
from analytics.models import HourlyRollup
from analytics.services import daily_rollups_build
from campaigns.models import AdCopySet, Campaign, Creative, Placement
from campaigns.services import product_upsert
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Brand, Template
from templates_app.services import brand_upsert, template_create

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- CSRF and sessions --------------------------------------------------------------------------------


def test_admin_login_without_a_csrf_token_is_403(designer):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)  # the login page sets the CSRF cookie; the token is left out of the form below

    response = client.post(LOGIN, {"username": "designer", "password": "pw-designer"})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_admin_change_form_without_a_csrf_token_is_403_and_changes_nothing(designer):
    brand = brand_upsert(name="Acme", primary_colour="#112233", accent_colour="#445566")
    client = Client(enforce_csrf_checks=True)
    client.force_login(designer)
    form = {"name": "Renamed", "primary_colour": "#000000", "accent_colour": "#ffffff", "text_colour": "#1a1a1a"}

    response = client.post(f"/admin/templates_app/brand/{brand.pk}/change/", form)

    assert response.status_code == 403
    assert Brand.objects.get().name == "Acme"


def test_the_session_key_rotates_at_login(client, designer):
    session = client.session
    session["visited"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key

    response = client.post(LOGIN, {"username": "designer", "password": "pw-designer", "next": "/admin/"})

    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    assert client.session["_auth_user_id"] == str(designer.pk)


# --- login throttling -----------------------------------------------------------------------------------


def _login(client, password, username="designer"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_after_the_failure_limit_even_the_right_password_is_refused_with_a_clear_message(client, designer):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert _login(client, "wrong").status_code == 200

    response = _login(client, "pw-designer")

    assert response.status_code == 200  # the login form again, not the admin
    assert "Too many failed logins for this username from your address" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_below_the_limit_do_not_lock_and_a_success_resets_the_count(client, designer):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, "pw-designer").status_code == 302
    client.logout()

    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _login(client, "wrong")

    assert _login(client, "pw-designer").status_code == 302


def test_a_post_without_a_password_does_not_reset_the_count(client, designer):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    _login(client, "")
    _login(client, "wrong")

    assert _login(client, "pw-designer").status_code == 200


def test_the_lock_is_per_username_and_address(client, designer, operator):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "wrong")

    other_user = _login(client, "pw-operator", username="operator")
    client.logout()
    other_address = client.post(LOGIN, {"username": "designer", "password": "pw-designer"}, REMOTE_ADDR="198.51.100.9")

    assert other_user.status_code == 302
    assert other_address.status_code == 302


def test_the_lock_ends_when_the_window_passes(client, designer, monkeypatch):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _login(client, "wrong")
    assert _login(client, "pw-designer").status_code == 200
    later = time.time() + accounts_services.LOGIN_FAILURE_WINDOW_SECONDS + 1

    monkeypatch.setattr(time, "time", lambda: later)

    assert _login(client, "pw-designer").status_code == 302


def test_the_failure_limit_comes_from_settings(client, designer, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    _login(client, "wrong")
    _login(client, "wrong")

    assert _login(client, "pw-designer").status_code == 200


# --- user-entered names are escaped everywhere ----------------------------------------------------------


@pytest.fixture
def hostile_names(designer):
    """A template, brand, product, placement and campaign all named <script>, with a creative and traffic."""
    spec = json.loads((Path(settings.BASE_DIR) / "synthesis" / "templates" / "single-hero.json").read_text())
    template = template_create(name=XSS, spec=spec, owner=designer)
    brand_upsert(name=XSS, primary_colour="#112233", accent_colour="#445566")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, format="JPEG")
    product_upsert(sku="XSS-1", title=XSS, price=Decimal("9"), image_data=buf.getvalue())
    placement = Placement.objects.create(name=XSS, channel="dsp", sizes=[[300, 250]])
    campaign = Campaign.objects.create(name=XSS, copy=AdCopySet.objects.create(name=XSS, titles=[XSS]))
    campaign.placements.add(placement)
    creative = CreativeFactory(
        campaign=campaign, product_key="XSS-1", template_version=template.current_version, file="creatives/a.jpg",
        content_hash="a", aesthetic_score=70, theme_colours=["#c8102e"], state=Creative.State.PENDING,
        provenance={"template": XSS, "palette": {"name": XSS}},
    )  # fmt: skip
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    HourlyRollup.objects.create(
        hour=hour, creative=creative, placement=placement, template_version=template.current_version,
        impressions=100, impressions_gross=100, clicks=5, clicks_gross=5,
    )  # fmt: skip
    daily_rollups_build(hour, hour + timedelta(hours=1))
    return campaign, hour


def _page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.mark.parametrize(
    "role, url",
    [
        ("designer", "/admin/templates_app/template/"),
        ("designer", "/admin/templates_app/brand/"),
        ("operator", "/admin/campaigns/product/"),
        ("operator", "/admin/campaigns/campaign/"),
        ("operator", "/admin/campaigns/placement/"),
        ("operator", "/admin/campaigns/creative/"),
    ],
)
def test_admin_changelists_escape_hostile_names(client, request, hostile_names, role, url):
    client.force_login(request.getfixturevalue(role))

    html = _page(client, url)

    assert XSS not in html
    assert ESCAPED in html


def test_dashboards_escape_hostile_names(client, analyst, hostile_names):
    _, hour = hostile_names
    client.force_login(analyst)

    html = _page(client, "/dashboards/", **{"from": f"{hour:%Y-%m-%d}"})

    assert "Template leaderboard" in html  # the page shows the traffic, so the names are on it
    assert XSS not in html
    assert ESCAPED in html


def test_review_gallery_escapes_hostile_names(client, operator, hostile_names):
    campaign, _ = hostile_names
    client.force_login(operator)

    html = _page(client, f"/campaigns/{campaign.pk}/review/")

    assert XSS not in html
    assert ESCAPED in html


def test_start_page_escapes_hostile_names(client, designer, hostile_names):
    client.force_login(designer)

    assert XSS not in _page(client, "/")


def test_template_change_form_escapes_hostile_names(client, designer, hostile_names):
    client.force_login(designer)

    html = _page(client, f"/admin/templates_app/template/{Template.objects.get().pk}/change/")

    assert XSS not in html
