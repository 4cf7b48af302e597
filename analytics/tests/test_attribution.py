"""Element-level attribution: CTR and CVR per thing a creative is made of, read from provenance."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.selectors import colour_family, element_attribution
from analytics.services import daily_rollups_build
from analytics.tests.factories import HourlyRollupFactory
from campaigns.models import AdCopySet, Campaign, Creative, Placement
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "hex_colour, family",
    [("#c8102e", "red"), ("#1f3a6e", "blue"), ("#2e8b57", "green"), ("#f2c12e", "yellow"), ("#808080", "grey"),
     ("#111111", "black"), ("#f7f7f7", "white"), ("#7b3fa0", "purple"), ("#e87722", "orange")],
)  # fmt: skip
def test_theme_colours_fall_into_families(hex_colour, family):
    assert colour_family(hex_colour) == family


@pytest.fixture
def traffic():
    version = TemplateVersion.objects.create(template=Template.objects.create(name="hero"), number=1, spec={})
    placement = Placement.objects.create(name="feed", channel="dsp", sizes=[[300, 250]])
    campaign = Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    made = [
        # product key, palette, title align, badge shown, theme colour, image shown, impressions, clicks, conversions
        ("A", "theme", "left", True, "#c8102e", "scene", 1000, 50, 5),
        ("B", "theme", "center", False, "#1f3a6e", "main", 1000, 30, 3),
        ("C+D", "complement", "left", True, "#c8102e", None, 2000, 20, 0),  # made before products had several
    ]
    for key, palette, align, badge, colour, image, imp, clk, conv in made:
        creative = CreativeFactory(
            campaign=campaign, product_key=key, template_version=version, file=f"{key}.jpg", aesthetic_score=70,
            theme_colours=[colour], state=Creative.State.PENDING,
            provenance={"template": "hero", "palette": {"name": palette}, "layers": {
                "title": {"visible": True, "align": align, "size_scale": 1.0}, "badge": {"visible": badge}},
                **({"product_image": {"kind": image, "file": f"products/{key}.jpg"}} if image else {})},
        )  # fmt: skip
        HourlyRollupFactory(
            hour=hour, creative=creative, placement=placement, impressions=imp, clicks=clk, conversions=conv
        )
    daily_rollups_build(hour, hour + timedelta(hours=1))
    return hour


def _row(rows, element, value):
    return next(r for r in rows if r.element == element and r.label == value)


def test_every_element_value_gets_its_counts_and_rates(traffic):
    rows = element_attribution(start=traffic - timedelta(hours=1), end=traffic + timedelta(hours=1))

    theme = _row(rows, "palette", "theme")
    assert (theme.impressions, theme.clicks, theme.conversions) == (2000, 80, 8)
    assert theme.ctr == pytest.approx(0.04) and theme.cvr == pytest.approx(0.1)
    assert theme.ctr_interval[0] < 0.04 < theme.ctr_interval[1]
    assert _row(rows, "palette", "complement").clicks == 20
    assert _row(rows, "title style", "left x1").impressions == 3000
    assert _row(rows, "decoration", "badge").impressions == 3000
    assert _row(rows, "decoration", "none").impressions == 1000
    assert _row(rows, "product count", "2").impressions == 2000
    # Lifestyle-photo creatives apart from main-image ones (older creatives showed the main image).
    assert (_row(rows, "product image", "scene").impressions, _row(rows, "product image", "scene").clicks) == (1000, 50)
    assert _row(rows, "product image", "main").impressions == 3000
    assert _row(rows, "theme colour", "red").clicks == 70
    # within an element, the best CTR comes first
    palettes = [r.label for r in rows if r.element == "palette"]
    assert palettes == ["theme", "complement"]


def test_the_dashboard_shows_and_exports_the_attribution(client, analyst, designer, traffic):
    client.force_login(analyst)
    page = client.get("/dashboards/", {"from": f"{traffic:%Y-%m-%d}"})
    assert "Element-level attribution" in page.content.decode() and 'id="ctr-by-colour"' in page.content.decode()

    export = client.get("/dashboards/", {"from": f"{traffic:%Y-%m-%d}", "export": "elements"})
    lines = export.content.decode().splitlines()
    assert lines[0].startswith("element,value,impressions,clicks,ctr")
    assert "palette,theme,2000,80,0.04000" in "\n".join(lines)


def test_the_page_shows_rates_in_percent_and_the_csv_as_documented_fractions(client, analyst, traffic):
    """One unit on the page (%, tables and every chart axis); the CSV keeps fractions and the page says so."""
    import json
    import re

    client.force_login(analyst)
    page = client.get("/dashboards/", {"from": f"{traffic:%Y-%m-%d}"}).content.decode()

    cells = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert "4.00 %" in cells  # palette "theme": 80 clicks / 2000 impressions
    assert "10.00 %" in cells  # its CVR: 8 orders / 80 clicks
    assert all(c.endswith(" %") for c in cells), cells
    assert "0.0400" not in page
    assert "0.02350 is 2.35 %" in page
    figures = [
        json.loads(f) for f in re.findall(r'<script id="[^"]+-figure" type="application/json">(.*?)</script>', page)
    ]
    rate_axes = [
        f["layout"]["yaxis"] for f in figures if f["layout"]["yaxis"].get("title", {}).get("text") in ("CTR", "CVR")
    ]
    assert len(rate_axes) == 5 and all(axis["ticksuffix"] == " %" for axis in rate_axes)


def test_a_bad_date_is_a_message_naming_the_filter_and_the_value(client, analyst):
    client.force_login(analyst)

    response = client.get("/dashboards/", {"from": "2026-02-30", "to": "soon"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "From (from=2026-02-30): Enter a date as YYYY-MM-DD." in page
    assert "To (to=soon): Enter a date as YYYY-MM-DD." in page
    assert "show the last 14 days" in page
