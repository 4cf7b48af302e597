"""Reads for the dashboards, their CSV exports and the statistics API: one source of numbers.

Everything comes from the rollups, never raw events: `statistics_breakdown` and
`statistics_series` count by a dimension (creative, template, template version, placement,
campaign, segment, provenance element) over the local days of a range, by day (the daily
rollups) or by hour (the hourly ones, of which the daily rows are the sums). The dashboards'
leaderboard, series and attribution are those two functions, so the page, the CSV and the
API cannot disagree.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Sum
from django.utils import timezone

from .models import DailyRollup, Event, HourlyRollup

Z95 = 1.959964


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a rate; (0, 0) with no trials."""
    if trials <= 0:
        return 0.0, 0.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class RateRow:
    label: str
    impressions: int
    clicks: int
    conversions: int
    impressions_gross: int
    clicks_gross: int
    key: str = ""  # what the row is of, for a program: an id, a segment, an element's value

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def ctr_interval(self) -> tuple[float, float]:
        return wilson_interval(self.clicks, self.impressions)

    @property
    def cvr(self) -> float:
        return self.conversions / self.clicks if self.clicks else 0.0

    @property
    def cvr_interval(self) -> tuple[float, float]:
        return wilson_interval(self.conversions, self.clicks)


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """The aware [start, end) of the local days first..last, inclusive: what the selectors take."""
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(first, time.min), tz),
        timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz),
    )


def _local_days(start: datetime, end: datetime) -> tuple[date, date]:
    """The first and last local day [start, end) touches (whole days: the dashboards filter by date)."""
    first = timezone.localtime(start).date()
    end_local = timezone.localtime(end)
    last = end_local.date() - timedelta(days=1) if end_local.time() == time.min else end_local.date()
    return first, last


def _rollups(
    *,
    start: datetime,
    end: datetime,
    granularity: str = "day",
    campaign_id=None,
    placement_id=None,
    segment=None,
    template_id=None,
    creative_id=None,
):
    """The rollups of the local days [start, end) touches: daily rows, or the hourly rows of the same days."""
    first, last = _local_days(start, end)
    if granularity == "hour":
        day_start, day_end = day_range(first, last)
        rows = HourlyRollup.objects.filter(hour__gte=day_start, hour__lt=day_end)
    else:
        rows = DailyRollup.objects.filter(day__gte=first, day__lte=last)
    if campaign_id:
        rows = rows.filter(creative__campaign_id=campaign_id)
    if placement_id:
        rows = rows.filter(placement_id=placement_id)
    if template_id:
        rows = rows.filter(template_version__template_id=template_id)
    if creative_id:
        rows = rows.filter(creative_id=creative_id)
    if segment is not None:  # "" is the traffic served without a segment
        rows = rows.filter(segment=segment)
    return rows


def placement_has_traffic(placement_id: int) -> bool:
    """Whether any event, hourly or daily rollup is recorded for the placement (what a delete would erase)."""
    return any(model.objects.filter(placement_id=placement_id).exists() for model in (Event, HourlyRollup, DailyRollup))


def segments_seen() -> list[str]:
    """The audience segments the rollups have seen, for the dashboard's filter."""
    return list(DailyRollup.objects.order_by("segment").values_list("segment", flat=True).distinct())


@dataclass(frozen=True)
class Dimension:
    """What rows are counted by: the fields grouped on, and the key and label each group gets."""

    fields: tuple[str, ...]
    key: Callable[[dict], str]
    label: Callable[[dict], str]


DIMENSIONS = {
    "creative": Dimension(
        ("creative_id", "creative__product_key", "creative__width", "creative__height"),
        lambda r: str(r["creative_id"]),
        lambda r: f"#{r['creative_id']} {r['creative__product_key']} {r['creative__width']}x{r['creative__height']}",
    ),
    "template": Dimension(
        ("template_version__template_id", "template_version__template__name"),
        lambda r: str(r["template_version__template_id"]),
        lambda r: r["template_version__template__name"],
    ),
    "template_version": Dimension(
        ("template_version_id", "template_version__template__name", "template_version__number"),
        lambda r: str(r["template_version_id"]),
        lambda r: f"{r['template_version__template__name']} v{r['template_version__number']}",
    ),
    "placement": Dimension(
        ("placement_id", "placement__name"), lambda r: str(r["placement_id"]), lambda r: r["placement__name"]
    ),
    "campaign": Dimension(
        ("creative__campaign_id", "creative__campaign__name"),
        lambda r: str(r["creative__campaign_id"]),
        lambda r: r["creative__campaign__name"],
    ),
    "segment": Dimension(("segment",), lambda r: r["segment"], lambda r: r["segment"]),
    # Provenance elements: counted per creative, then summed per element value (creative_elements).
    "element": Dimension(("creative_id",), lambda r: "", lambda r: ""),
}
GRANULARITIES = ("day", "hour")
ELEMENTS = (
    "template", "palette", "background", "title style", "decoration", "product image", "product count", "format",
    "theme colour",
)  # fmt: skip
_COUNTS = ("impressions", "clicks", "conversions", "impressions_gross", "clicks_gross")


def _grouped(*, by: str, granularity: str | None, element: str | None, filters: dict):
    """{(bucket, element, key): (label, [counts...])}: the rollups summed per group (and per time bucket)."""
    dimension = DIMENSIONS[by]
    bucket = {"day": "day", "hour": "hour", None: None}[granularity]
    fields = dimension.fields + ((bucket,) if bucket else ())
    rows = (
        _rollups(granularity=granularity or "day", **filters)
        .values(*fields)
        .annotate(**{name: Sum(name) for name in _COUNTS})
        .order_by()
    )
    cells: dict[tuple, tuple[str, list[int]]] = {}
    if by == "element":
        rows = list(rows)
        elements = _elements_of({r["creative_id"] for r in rows})
        for r in rows:
            for kind, value in elements[r["creative_id"]].items():
                if element is None or kind == element:
                    _add(cells, (r.get(bucket), kind, value), value, r)
        return cells
    for r in rows:
        _add(cells, (r.get(bucket), "", dimension.key(r)), dimension.label(r), r)
    return cells


def _add(cells: dict, cell: tuple, label: str, row: dict) -> None:
    counts = cells.setdefault(cell, (label, [0] * len(_COUNTS)))[1]
    for i, name in enumerate(_COUNTS):
        counts[i] += row[name] or 0


def _elements_of(creative_ids) -> dict[int, dict[str, str]]:
    from campaigns.models import Creative

    creatives = Creative.objects.filter(pk__in=creative_ids).only(
        "id", "provenance", "product_key", "format", "theme_colours"
    )
    return {creative.pk: creative_elements(creative) for creative in creatives}


def _rate_row(element: str, key: str, label: str, counts: list[int]) -> "RateRow":
    if element:
        return ElementRow(label, *counts, key=key, element=element)
    return RateRow(label, *counts, key=key)


def statistics_breakdown(
    *, by: str, start: datetime, end: datetime, element: str | None = None, **filters
) -> list[RateRow]:
    """Net and gross counts, CTR and CVR (Wilson intervals on RateRow) per `by` over the local days of
    [start, end), best CTR first (by element kind, then best CTR, with `by="element"`).

    filters: campaign_id, placement_id, template_id, creative_id, segment ("" is no segment).
    """
    cells = _grouped(by=by, granularity=None, element=element, filters=dict(start=start, end=end, **filters))
    rows = [_rate_row(kind, key, label, counts) for (_, kind, key), (label, counts) in cells.items()]
    if by == "element":
        return sorted(rows, key=lambda r: (r.element, -r.ctr, r.label))
    return sorted(rows, key=lambda r: (-r.ctr, r.label, r.key))


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime  # the hour's or the local day's start
    row: "RateRow"


def statistics_series(
    *, by: str, granularity: str, start: datetime, end: datetime, element: str | None = None, **filters
) -> list[SeriesPoint]:
    """The counts of each `by` group per hour or per local day, ordered by group then time; buckets
    without traffic are left out (no rollup row, nothing counted)."""
    cells = _grouped(by=by, granularity=granularity, element=element, filters=dict(start=start, end=end, **filters))
    tz = timezone.get_current_timezone()
    points = [
        SeriesPoint(
            bucket if granularity == "hour" else timezone.make_aware(datetime.combine(bucket, time.min), tz),
            _rate_row(kind, key, label, counts),
        )
        for (bucket, kind, key), (label, counts) in cells.items()
    ]
    return sorted(points, key=lambda p: (p.row.element if by == "element" else "", p.row.label, p.row.key, p.start))


def template_leaderboard(
    *, start: datetime, end: datetime, campaign_id=None, placement_id=None, segment=None
) -> list[RateRow]:
    """Templates by net CTR, best first."""
    return statistics_breakdown(
        by="template", start=start, end=end, campaign_id=campaign_id, placement_id=placement_id, segment=segment
    )


def lead_is_significant(rows: list[RateRow]) -> bool:
    """Whether the leader's CTR beats the runner-up's: their 95% Wilson intervals do not overlap."""
    if len(rows) < 2:
        return False
    return rows[0].ctr_interval[0] > rows[1].ctr_interval[1]


def daily_series(
    *, start: datetime, end: datetime, by: str = "template", campaign_id=None, placement_id=None, segment=None
):
    """{label: [(day, RateRow), ...]} per template, placement or campaign, day by day (for the charts)."""
    points = statistics_series(
        by=by,
        granularity="day",
        start=start,
        end=end,
        campaign_id=campaign_id,
        placement_id=placement_id,
        segment=segment,
    )
    series: dict[str, list] = {}
    for point in sorted(points, key=lambda p: p.start):
        series.setdefault(point.row.label, []).append((timezone.localtime(point.start).date(), point.row))
    return series


def score_vs_ctr(*, start: datetime, end: datetime, campaign_id=None, placement_id=None, segment=None):
    """Per creative: (aesthetic score, net impressions, net clicks, label)."""
    rows = (
        _rollups(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id, segment=segment)
        .values("creative_id", "creative__aesthetic_score", "creative__product_key")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"))
        .order_by()
    )
    return [(r["creative__aesthetic_score"], r["impressions"], r["clicks"], r["creative__product_key"]) for r in rows]


def colour_family(hex_colour: str) -> str:
    """A colour's family by its CIE LCh hue (neutral when nearly grey), for the theme colour breakdown."""
    from synthesis.colour import hex_to_rgb, rgb_to_lch

    lightness, chroma, hue = rgb_to_lch(hex_to_rgb(hex_colour))
    if chroma < 12:
        return "black" if lightness < 25 else "white" if lightness > 85 else "grey"
    for limit, name in ((20, "pink"), (55, "red"), (80, "orange"), (105, "yellow"), (160, "green"), (215, "cyan")):
        if hue < limit:
            return name
    return "blue" if hue < 295 else "purple" if hue < 340 else "pink"


def creative_elements(creative) -> dict[str, str]:
    """What a creative is made of, read from its provenance: one value per element kind."""
    provenance = creative.provenance or {}
    palette = provenance.get("palette", "")
    layers = provenance.get("layers", {})
    title = layers.get("title", {})
    decorations = sorted(
        str(choice.get("asset") or layer_id)
        for layer_id, choice in layers.items()
        if layer_id.startswith(("deco", "badge", "ribbon", "burst")) and choice.get("visible", True)
    )
    background = next(
        (str(c["asset"]) for lid, c in layers.items() if lid in ("bg", "background") and c.get("asset")), "palette"
    )
    return {
        "template": str(provenance.get("template", "")),
        "palette": str(palette.get("name", "") if isinstance(palette, dict) else palette),
        "background": background,
        "title style": (f"{title.get('align') or 'template'} x{title.get('size_scale', 1.0):g}" if title else "none"),
        "decoration": ", ".join(decorations) or "none",
        # Creatives made before products had several images showed the main image.
        "product image": str((provenance.get("product_image") or {}).get("kind", "main")),
        "product count": str(len(creative.product_key.split("+"))),
        "format": creative.format,
        "theme colour": colour_family(creative.theme_colours[0]) if creative.theme_colours else "unknown",
    }


@dataclass(frozen=True)
class ElementRow(RateRow):
    element: str = ""


def element_attribution(
    *, start: datetime, end: datetime, campaign_id=None, placement_id=None, segment=None
) -> list[ElementRow]:
    """CTR and CVR (with intervals via RateRow) per element value, e.g. palette=complement, best CTR first."""
    return statistics_breakdown(
        by="element", start=start, end=end, campaign_id=campaign_id, placement_id=placement_id, segment=segment
    )
