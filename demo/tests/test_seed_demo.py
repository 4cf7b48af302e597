"""`manage.py seed_demo` fills a fresh install, and running it again creates nothing twice."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from PIL import Image

from campaigns.models import Product
from templates_app.models import Asset, Brand, Font

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_password(media, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "creative-demo")


def _counts():
    from campaigns.models import Creative

    return (
        Creative.objects.count(),
        get_user_model().objects.count(),
        Product.objects.count(),
        Font.objects.count(),
        Asset.objects.count(),
        Brand.objects.count(),
    )


def test_seed_demo_is_idempotent_and_prints_the_logins():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = _counts()
    call_command("seed_demo", stdout=io.StringIO())

    assert _counts() == first
    assert first[2] == 8
    for username in ("designer", "operator", "analyst", "admin"):
        assert username in out.getvalue()


def test_demo_users_can_log_in_with_their_roles(client):
    call_command("seed_demo", stdout=io.StringIO())

    assert client.login(username="operator", password="creative-demo")
    assert client.get("/admin/campaigns/product/").status_code == 200
    assert client.get("/admin/templates_app/font/add/").status_code == 403


def test_demo_catalogue_has_chinese_titles_real_images_and_a_cjk_font():
    call_command("seed_demo", stdout=io.StringIO())

    product = Product.objects.get(sku="YX-DOWN-001")
    with product.main_image.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
    centre = image.convert("RGB").getpixel((400, 450))

    assert product.title == "网易严选 冬季羽绒服 限时直降"
    assert image.size == (800, 800)
    assert centre[0] > 120 and centre[1] < 80  # the red jacket, not the white studio
    assert Font.objects.filter(covers_cjk=True).exists()


def test_seed_demo_refuses_default_passwords_outside_debug(settings, monkeypatch):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    monkeypatch.delenv("DEMO_PASSWORD")

    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        call_command("seed_demo", stdout=io.StringIO())
    assert get_user_model().objects.count() == 0


def test_demo_has_a_campaign_with_approved_creatives_for_every_size(django_capture_on_commit_callbacks):
    from campaigns.models import Creative

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())

    creatives = Creative.objects.filter(campaign__name="Winter sale (demo)")
    assert creatives.count() == 3 * 3  # 3 products x (2 image sizes + 1 video size)
    assert set(creatives.values_list("state", flat=True)) == {Creative.State.APPROVED}
    assert set(creatives.values_list("format", "width", "height")) == {
        ("image", 1080, 1080),
        ("image", 728, 90),
        ("video", 540, 960),
    }
    video = creatives.filter(format="video").first()
    assert video.duration == 15.0 and video.poster and video.file.name.endswith(".mp4")


def test_the_demo_has_orders_so_the_conversion_charts_have_data():
    """Every demo order follows a counted click of its serve, so all of them count (none is `no_click`)."""
    from analytics.models import DailyRollup, Event

    call_command("seed_demo", stdout=io.StringIO())

    conversions = Event.objects.filter(kind="conversion")
    assert conversions.count() >= 20
    assert not conversions.exclude(invalid_reason="").exists()
    clicked = set(Event.objects.filter(kind="click").values_list("serve_id", flat=True))
    assert set(conversions.values_list("serve_id", flat=True)) <= clicked
    assert sum(DailyRollup.objects.values_list("conversions", flat=True)) == conversions.count()
