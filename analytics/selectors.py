"""Reads for dashboards: everything comes from hourly rollups, never from raw events."""

import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Sum
from django.db.models.functions import TruncDay

from .models import HourlyRollup

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


def _rollups(*, start: datetime, end: datetime, campaign_id=None, placement_id=None):
    rows = HourlyRollup.objects.filter(hour__gte=start, hour__lt=end)
    if campaign_id:
        rows = rows.filter(creative__campaign_id=campaign_id)
    if placement_id:
        rows = rows.filter(placement_id=placement_id)
    return rows


def template_leaderboard(*, start: datetime, end: datetime, campaign_id=None, placement_id=None) -> list[RateRow]:
    """Templates by net CTR, best first."""
    rows = (
        _rollups(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id)
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


def daily_series(*, start: datetime, end: datetime, by: str = "template", campaign_id=None, placement_id=None):
    """{label: [(day, RateRow), ...]} per template or placement, day by day."""
    field = {"template": "template_version__template__name", "placement": "placement__name"}[by]
    rows = (
        _rollups(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id)
        .annotate(day=TruncDay("hour"))
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


def score_vs_ctr(*, start: datetime, end: datetime, campaign_id=None, placement_id=None):
    """Per creative: (aesthetic score, net impressions, net clicks, label)."""
    rows = (
        _rollups(start=start, end=end, campaign_id=campaign_id, placement_id=placement_id)
        .values("creative_id", "creative__aesthetic_score", "creative__product_key")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"))
        .order_by()
    )
    return [(r["creative__aesthetic_score"], r["impressions"], r["clicks"], r["creative__product_key"]) for r in rows]
