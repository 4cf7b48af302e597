"""`manage.py creatives_duplicates`: stored creatives that repeat another of their product set and size are reported."""

import io

import pytest
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from campaigns.models import Creative
from campaigns.tests.factories import CampaignFactory, CreativeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def _jpeg(shade: int, *, mark: bool = False, quality: int = 90) -> bytes:
    img = Image.new("RGB", (300, 250), (240, 236, 228))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 160, 210), fill=(shade, 40, 60))
    if mark:
        draw.ellipse((180, 60, 280, 200), fill=(20, 90, 160))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def test_repeats_are_listed_with_the_best_kept_and_nothing_is_changed():
    campaign = CampaignFactory(name="Winter")
    same = _jpeg(180)
    best = CreativeFactory(campaign=campaign, product_key="A", variant=0, aesthetic_score=91, stored_file=same)
    copy = CreativeFactory(
        campaign=campaign, product_key="A", variant=1, aesthetic_score=88, content_hash=best.content_hash,
        stored_file=same,
    )  # fmt: skip
    # The same picture encoded again (another JPEG quality): a viewer cannot tell them apart.
    reencoded = CreativeFactory(
        campaign=campaign, product_key="A", variant=2, aesthetic_score=80, content_hash="other",
        stored_file=_jpeg(180, quality=60),
    )  # fmt: skip
    different = CreativeFactory(
        campaign=campaign,
        product_key="A",
        variant=3,
        aesthetic_score=85,
        content_hash="x",
        stored_file=_jpeg(60, mark=True),
    )
    other_set = CreativeFactory(campaign=campaign, product_key="B", content_hash=best.content_hash, stored_file=same)
    before = list(Creative.objects.order_by("pk").values_list("pk", "state"))
    out = io.StringIO()

    call_command("creatives_duplicates", stdout=out)

    report = out.getvalue()
    assert f"Winter · A · 300x250: creative {best.pk} " in report
    assert f"{copy.pk} (Approved)" in report and f"{reencoded.pk} (Approved)" in report
    assert f"{different.pk} " not in report and f"{other_set.pk} " not in report  # another picture, another set
    assert "2 duplicate creative(s) in 1 product set size(s)." in report
    assert list(Creative.objects.order_by("pk").values_list("pk", "state")) == before  # a report changes nothing


def test_check_fails_only_when_there_are_duplicates():
    campaign = CampaignFactory(name="Clean")
    CreativeFactory(campaign=campaign, product_key="A", variant=0, stored_file=_jpeg(180))
    CreativeFactory(campaign=campaign, product_key="A", variant=1, content_hash="b", stored_file=_jpeg(60, mark=True))
    call_command("creatives_duplicates", "--check", "--campaign", "Clean", stdout=io.StringIO())

    CreativeFactory(campaign=campaign, product_key="A", variant=2, content_hash="A", stored_file=_jpeg(180))
    with pytest.raises(CommandError, match="1 duplicate"):
        call_command("creatives_duplicates", "--check", "--campaign", "Clean", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No campaign"):
        call_command("creatives_duplicates", "--campaign", "Nope", stdout=io.StringIO())
