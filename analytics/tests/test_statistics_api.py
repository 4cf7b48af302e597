"""The statistics API: breakdowns and series from the rollups, the same numbers as the dashboards and CSV."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from analytics.models import HourlyRollup
from analytics.services import daily_rollups_build
from campaigns.models import AdCopySet, Campaign, Creative, Placement
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 20)
RANGE = {"start": "2026-11-19", "end": "2026-11-21"}


def _creative(campaign, version, key, palette, colour):
    return Creative.objects.create(
        campaign=campaign, product_key=key, template_version=version, width=300, height=250, variant=0,
        file=f"{key}.jpg", content_hash=key, aesthetic_score=70, theme_colours=[colour],
        provenance={"template": version.template.name, "palette": {"name": palette}, "layers": {}},
    )  # fmt: skip


@pytest.fixture
def traffic():
    """Two templates (one with two versions), two placements, two segments, over two days and several hours."""
    hero = Template.objects.create(name="hero")
    hero_1 = TemplateVersion.objects.create(template=hero, number=1, spec={})
    hero_2 = TemplateVersion.objects.create(template=hero, number=2, spec={})
    grid_1 = TemplateVersion.objects.create(template=Template.objects.create(name="grid"), number=1, spec={})
    feed = Placement.objects.create(name="feed", channel="dsp", sizes=[[300, 250]])
    side = Placement.objects.create(name="side", channel="dsp", sizes=[[300, 250]])
    campaign = Campaign.objects.create(name="winter", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    a = _creative(campaign, hero_1, "A", "theme", "#c8102e")
    b = _creative(campaign, hero_2, "B", "complement", "#1f3a6e")
    c = _creative(campaign, grid_1, "C", "theme", "#2e8b57")
    tz = timezone.get_current_timezone()
    cells = [
        # creative, placement, segment, day offset, hour, impressions, clicks, conversions
        (a, feed, "", 0, 9, 1000, 50, 5),
        (a, feed, "", 0, 10, 500, 20, 1),
        (a, side, "sports", 1, 9, 800, 8, 0),
        (b, feed, "sports", 0, 9, 1200, 30, 6),
        (b, side, "", 1, 23, 400, 2, 1),
        (c, feed, "", 1, 0, 2000, 100, 9),
    ]
    for creative, placement, segment, offset, hour, imp, clk, conv in cells:
        HourlyRollup.objects.create(
            hour=timezone.make_aware(datetime.combine(DAY + timedelta(days=offset), datetime.min.time()), tz)
            + timedelta(hours=hour),
            creative=creative, placement=placement, template_version=creative.template_version, segment=segment,
            impressions=imp, impressions_gross=imp + 10, clicks=clk, clicks_gross=clk + 1, conversions=conv,
            conversions_gross=conv,
        )  # fmt: skip
    start = timezone.make_aware(datetime.combine(DAY, datetime.min.time()), tz)
    daily_rollups_build(start, start + timedelta(days=2))
    return {"hero": hero, "grid": grid_1.template, "feed": feed, "side": side, "a": a, "b": b, "c": c}


def _api(client, kind, **params):
    response = client.get(f"/api/v1/statistics/{kind}", {**RANGE, "page_size": 1000, **params})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _csv(client, export):
    response = client.get("/dashboards/", {"from": RANGE["start"], "to": RANGE["end"], "export": export})
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_template_breakdown_is_the_dashboards_leaderboard_csv(client, analyst, traffic):
    client.force_login(analyst)

    api = _api(client, "breakdown", by="template")
    exported = _csv(client, "leaderboard")

    assert [r["label"] for r in api] == [r["template"] for r in exported] == ["grid", "hero"]  # best CTR first
    for ours, theirs in zip(api, exported, strict=True):
        for name in ("impressions", "clicks", "conversions", "impressions_gross", "clicks_gross"):
            assert ours[name] == int(theirs[name])
        for name in ("ctr", "ctr_low", "ctr_high", "cvr"):
            assert ours[name] == pytest.approx(float(theirs[name]), abs=5e-6)
    hero = next(r for r in api if r["label"] == "hero")
    assert (hero["impressions"], hero["clicks"], hero["conversions"]) == (3900, 110, 13)
    assert hero["key"] == str(traffic["hero"].pk)
    assert hero["ctr"] == pytest.approx(110 / 3900)
    assert hero["ctr_low"] < hero["ctr"] < hero["ctr_high"]


def test_the_element_breakdown_is_the_dashboards_attribution_csv(client, analyst, traffic):
    client.force_login(analyst)

    api = _api(client, "breakdown", by="element")
    exported = _csv(client, "elements")

    assert [(r["element"], r["label"]) for r in api] == [(r["element"], r["value"]) for r in exported]
    for ours, theirs in zip(api, exported, strict=True):
        assert (ours["impressions"], ours["clicks"], ours["conversions"]) == (
            int(theirs["impressions"]),
            int(theirs["clicks"]),
            int(theirs["conversions"]),
        )
        for name in ("ctr", "ctr_low", "ctr_high", "cvr", "cvr_low", "cvr_high"):
            assert ours[name] == pytest.approx(float(theirs[name]), abs=5e-6)
    palettes = {r["label"]: r["impressions"] for r in _api(client, "breakdown", by="element", element="palette")}
    assert palettes == {"theme": 1000 + 500 + 800 + 2000, "complement": 1600}


@pytest.mark.parametrize("by", ["creative", "template", "template_version", "placement", "campaign", "segment"])
def test_every_dimension_shares_out_all_the_traffic(client, analyst, traffic, by):
    client.force_login(analyst)

    rows = _api(client, "breakdown", by=by)

    assert sum(r["impressions"] for r in rows) == 5900
    assert sum(r["clicks"] for r in rows) == 210
    assert len({r["key"] for r in rows}) == len(rows)


def test_versions_and_segments_are_told_apart(client, analyst, traffic):
    client.force_login(analyst)

    versions = {r["label"]: r["impressions"] for r in _api(client, "breakdown", by="template_version")}
    segments = {r["key"]: r["clicks"] for r in _api(client, "breakdown", by="segment")}

    assert versions == {"hero v1": 2300, "hero v2": 1600, "grid v1": 2000}
    assert segments == {"": 50 + 20 + 2 + 100, "sports": 8 + 30}


def test_the_daily_series_is_what_the_dashboard_charts_draw(client, analyst, traffic):
    from analytics import selectors

    client.force_login(analyst)
    start, end = selectors.day_range(date(2026, 11, 19), date(2026, 11, 21))

    api = _api(client, "series", by="placement", granularity="day")
    charted = selectors.daily_series(start=start, end=end, by="placement")

    points = [(p["label"], timezone.localtime(datetime.fromisoformat(p["start"])).date(), p["clicks"]) for p in api]
    assert points == [(label, day, row.clicks) for label, days in charted.items() for day, row in days]
    assert points == [("feed", DAY, 100), ("feed", DAY + timedelta(days=1), 100), ("side", DAY + timedelta(days=1), 10)]


def test_hourly_points_add_up_to_the_daily_ones(client, analyst, traffic):
    client.force_login(analyst)

    hourly = _api(client, "series", by="creative", granularity="hour")
    daily = _api(client, "series", by="creative", granularity="day")

    assert len(hourly) == 6 and len(daily) == 5
    for point in daily:
        day = datetime.fromisoformat(point["start"])
        inside = [
            h
            for h in hourly
            if h["key"] == point["key"] and day <= datetime.fromisoformat(h["start"]) < day + timedelta(days=1)
        ]
        assert sum(h["impressions"] for h in inside) == point["impressions"]


def test_filters_narrow_the_traffic(client, analyst, traffic):
    client.force_login(analyst)

    side = _api(client, "breakdown", by="template", placement=traffic["side"].pk)
    unsegmented = _api(client, "breakdown", by="placement", segment="(none)")
    one_day = _api(client, "breakdown", by="template", start="2026-11-20", end="2026-11-20")
    hero_only = _api(client, "breakdown", by="creative", template=traffic["hero"].pk)

    assert sum(r["impressions"] for r in side) == 1200
    assert {r["label"]: r["impressions"] for r in unsegmented} == {"feed": 3500, "side": 400}
    assert sum(r["impressions"] for r in one_day) == 2700
    assert {r["key"] for r in hero_only} == {str(traffic["a"].pk), str(traffic["b"].pk)}


def test_results_are_paginated(client, analyst, traffic):
    client.force_login(analyst)

    first = client.get("/api/v1/statistics/breakdown", {**RANGE, "by": "creative", "page_size": 2}).json()
    last = client.get("/api/v1/statistics/breakdown", {**RANGE, "by": "creative", "page_size": 2, "page": 2}).json()

    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    assert len(last["results"]) == 1 and last["next"] is None


@pytest.mark.parametrize(
    "kind, params, field",
    [
        ("breakdown", {}, "by"),
        ("breakdown", {"by": "colour"}, "by"),
        ("breakdown", {"by": "template", "start": "20-11-2026"}, "start"),
        ("breakdown", {"by": "template", "start": "2026-11-21", "end": "2026-11-19"}, "start"),
        ("breakdown", {"by": "template", "campaign": "999999"}, "campaign"),
        ("breakdown", {"by": "template", "campaign": "x"}, "campaign"),
        ("breakdown", {"by": "template", "element": "palette"}, "element"),
        ("breakdown", {"by": "template", "end": "99999-01-01"}, "end"),
        ("series", {"by": "template", "granularity": "minute"}, "granularity"),
        (
            "series",
            {"by": "template", "granularity": "hour", "start": "2026-01-01", "end": "2026-11-01"},
            "granularity",
        ),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(client, analyst, kind, params, field):
    client.force_login(analyst)

    response = client.get(f"/api/v1/statistics/{kind}", params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["extra"]["fields"]


def test_only_those_who_may_export_read_statistics(client, designer, operator):
    assert client.get("/api/v1/statistics/breakdown", {"by": "template"}).status_code == 401
    client.force_login(designer)
    assert client.get("/api/v1/statistics/series", {"by": "template"}).status_code == 403
    client.force_login(operator)
    assert client.get("/api/v1/statistics/series", {"by": "template"}).status_code == 200
