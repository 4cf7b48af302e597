"""Reads for dashboards: everything comes from the daily rollups (sums of the hourly ones), never raw events."""

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Sum
from django.utils import timezone

from .models import DailyRollup

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


_SUMS = dict(
    impressions=Sum("impressions"),
    clicks=Sum("clicks"),
    conversions=Sum("conversions"),
    impressions_gross=Sum("impressions_gross"),
    clicks_gross=Sum("clicks_gross"),
)


def _rollups(*, start: datetime, end: datetime, campaign_id=None, placement_id=None, segment=None):
    """The daily rollups of the local days [start, end) touches (whole days: the dashboards filter by date)."""
    first = timezone.localtime(start).date()
    end_local = timezone.localtime(end)
    last = end_local.date() - timedelta(days=1) if end_local.time() == time.min else end_local.date()
    rows = DailyRollup.objects.filter(day__gte=first, day__lte=last)
    if campaign_id:
        rows = rows.filter(creative__campaign_id=campaign_id)
    if placement_id:
        rows = rows.filter(placement_id=placement_id)
    if segment is not None:  # "" is the traffic served without a segment
        rows = rows.filter(segment=segment)
    return rows


def segments_seen() -> list[str]:
    """The audience segments the rollups have seen, for the dashboard's filter."""
    return list(DailyRollup.objects.order_by("segment").values_list("segment", flat=True).distinct())


def template_leaderboard(
    *, start: datetime, end: datetime, campaign_id=None, placement_id=None, segment=None
) -> list[RateRow]:
    """Templates by net CTR, best first."""
    rows = (
        _rollups(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id, segment=segment)
        .values("template_version__template__name")
        .annotate(**_SUMS)
        .order_by()
    )
    out = [
        RateRow(
            r["template_version__template__name"],
            r["impressions"],
            r["clicks"],
            r["conversions"],
            r["impressions_gross"],
            r["clicks_gross"],
        )
        for r in rows
    ]
    return sorted(out, key=lambda r: (-r.ctr, r.label))


def lead_is_significant(rows: list[RateRow]) -> bool:
    """Whether the leader's CTR beats the runner-up's: their 95% Wilson intervals do not overlap."""
    if len(rows) < 2:
        return False
    return rows[0].ctr_interval[0] > rows[1].ctr_interval[1]


def daily_series(
    *, start: datetime, end: datetime, by: str = "template", campaign_id=None, placement_id=None, segment=None
):
    """{label: [(day, RateRow), ...]} per template, placement or campaign, day by day."""
    field = {
        "template": "template_version__template__name",
        "placement": "placement__name",
        "campaign": "creative__campaign__name",
    }[by]
    rows = (
        _rollups(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id, segment=segment)
        .values(field, "day")
        .annotate(**_SUMS)
        .order_by("day")
    )
    series: dict[str, list] = {}
    for r in rows:
        series.setdefault(r[field], []).append(
            (
                r["day"],
                RateRow(
                    r[field], r["impressions"], r["clicks"], r["conversions"], r["impressions_gross"], r["clicks_gross"]
                ),
            )
        )
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
    from campaigns.models import Creative

    per_creative = {
        r["creative_id"]: r
        for r in _rollups(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id, segment=segment)
        .values("creative_id")
        .annotate(**_SUMS)
        .order_by()
    }
    cells: dict[tuple[str, str], list[int]] = {}
    for creative in Creative.objects.filter(pk__in=per_creative).only(
        "id", "provenance", "product_key", "format", "theme_colours"
    ):
        sums = per_creative[creative.pk]
        for element, value in creative_elements(creative).items():
            cell = cells.setdefault((element, value), [0, 0, 0, 0, 0])
            for i, key in enumerate(("impressions", "clicks", "conversions", "impressions_gross", "clicks_gross")):
                cell[i] += sums[key] or 0
    rows = [ElementRow(value, *counts, element=element) for (element, value), counts in cells.items()]
    return sorted(rows, key=lambda r: (r.element, -r.ctr, r.label))
