"""Rollups of the counted events (hourly, then daily) that the dashboards and the CTR model read,
and the per-creative totals pushed from them to serving's cache (what the draw learns from)."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.serving import creative_stats_cache_set

from ..models import NET, DailyRollup, Event, HourlyRollup


def rollups_build(*, start, end) -> int:
    """Recount the hours in [start, end) from raw events; idempotent (a re-run gives the same rows).

    Each hour is rebuilt whole inside one transaction, so a reader sees either the old or the
    new numbers for it. Returns the number of rollup rows written.
    """

    start = start.replace(minute=0, second=0, microsecond=0)
    rows = (
        Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(hour=TruncHour("occurred_at"))
        .values("hour", "creative_id", "placement_id", "creative__template_version_id", "segment")
        .annotate(
            impressions_gross=Count("pk", filter=Q(kind=Event.Kind.IMPRESSION)),
            impressions=Count("pk", filter=Q(kind=Event.Kind.IMPRESSION) & NET),
            clicks_gross=Count("pk", filter=Q(kind=Event.Kind.CLICK)),
            clicks=Count("pk", filter=Q(kind=Event.Kind.CLICK) & NET),
            conversions_gross=Count("pk", filter=Q(kind=Event.Kind.CONVERSION)),
            conversions=Count("pk", filter=Q(kind=Event.Kind.CONVERSION) & NET),
            video_starts=Count("pk", filter=Q(kind=Event.Kind.VIDEO_START) & NET),
            video_first_quartiles=Count("pk", filter=Q(kind=Event.Kind.VIDEO_FIRST_QUARTILE) & NET),
            video_midpoints=Count("pk", filter=Q(kind=Event.Kind.VIDEO_MIDPOINT) & NET),
            video_third_quartiles=Count("pk", filter=Q(kind=Event.Kind.VIDEO_THIRD_QUARTILE) & NET),
            video_completes=Count("pk", filter=Q(kind=Event.Kind.VIDEO_COMPLETE) & NET),
            video_errors=Count("pk", filter=Q(kind=Event.Kind.VIDEO_ERROR) & NET),
        )
        .order_by()
    )
    with transaction.atomic():
        HourlyRollup.objects.filter(hour__gte=start, hour__lt=end).delete()
        HourlyRollup.objects.bulk_create(
            [
                HourlyRollup(
                    hour=r["hour"],
                    creative_id=r["creative_id"],
                    placement_id=r["placement_id"],
                    template_version_id=r["creative__template_version_id"],
                    segment=r["segment"],
                    impressions_gross=r["impressions_gross"],
                    impressions=r["impressions"],
                    clicks_gross=r["clicks_gross"],
                    clicks=r["clicks"],
                    conversions_gross=r["conversions_gross"],
                    conversions=r["conversions"],
                    video_starts=r["video_starts"],
                    video_first_quartiles=r["video_first_quartiles"],
                    video_midpoints=r["video_midpoints"],
                    video_third_quartiles=r["video_third_quartiles"],
                    video_completes=r["video_completes"],
                    video_errors=r["video_errors"],
                )
                for r in rows
            ]
        )
        daily_rollups_build(start, end)
    return HourlyRollup.objects.filter(hour__gte=start, hour__lt=end).count()


def daily_rollups_build(start, end) -> None:
    """Re-sum the local days that [start, end) touches from the hourly rollups (in the caller's transaction)."""

    tz = timezone.get_current_timezone()
    first_day = timezone.localtime(start, tz).date()
    last_day = timezone.localtime(end - timedelta(microseconds=1), tz).date()
    day_start = timezone.make_aware(datetime.combine(first_day, time.min), tz)
    day_end = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min), tz)
    sums: dict[tuple, list[int]] = {}
    fields = (
        "impressions_gross", "impressions", "clicks_gross", "clicks", "conversions_gross", "conversions",
        "video_starts", "video_first_quartiles", "video_midpoints", "video_third_quartiles", "video_completes",
        "video_errors",
    )  # fmt: skip
    for r in (
        HourlyRollup.objects.filter(hour__gte=day_start, hour__lt=day_end)
        .values("hour", "creative_id", "placement_id", "template_version_id", "segment")
        .annotate(**{f: Sum(f) for f in fields})
        .order_by()
    ):
        day = timezone.localtime(r["hour"], tz).date()
        key = (day, r["creative_id"], r["placement_id"], r["template_version_id"], r["segment"])
        cell = sums.setdefault(key, [0] * len(fields))
        for i, f in enumerate(fields):
            cell[i] += r[f]
    DailyRollup.objects.filter(day__gte=first_day, day__lte=last_day).delete()
    DailyRollup.objects.bulk_create(
        [
            DailyRollup(
                day=d,
                creative_id=c,
                placement_id=p,
                template_version_id=v,
                segment=g,
                **dict(zip(fields, counts, strict=True)),
            )
            for (d, c, p, v, g), counts in sums.items()
        ],
        batch_size=2000,
    )


def serving_stats_refresh() -> int:
    """Push each live campaign's net (impressions, clicks) per creative into the serving cache."""

    campaigns = 0
    for campaign_id in Campaign.objects.filter(status=Campaign.Status.LIVE).values_list("pk", flat=True):
        totals = (
            HourlyRollup.objects.filter(creative__campaign_id=campaign_id)
            .values("creative_id")
            .annotate(i=Sum("impressions"), c=Sum("clicks"))
            .order_by()
        )
        creative_stats_cache_set(campaign_id=campaign_id, stats={t["creative_id"]: (t["i"], t["c"]) for t in totals})
        campaigns += 1
    return campaigns
