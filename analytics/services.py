"""Event tracking: validate a signed tracking token, then record the event once.

Tokens are the ones serving handed out (django.core.signing, salt campaigns.tracking), so a
forged or edited token is refused before anything is stored, and a click always goes to the
landing URL stored for the campaign, never to one taken from the request.
"""

import functools
import hashlib
from datetime import timedelta
from pathlib import Path

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Creative
from campaigns.serving import TRACKING_SALT
from creativeadmin.errors import ApplicationError

from .models import Event

TOKEN_MAX_AGE = 24 * 3600
CLICK_DEDUPE_WINDOW = 30 * 60


class TrackingRejected(ApplicationError):
    default_code = "bad_token"


@functools.lru_cache(maxsize=1)
def _bot_markers() -> tuple[str, ...]:
    path = Path(__file__).resolve().parent / "data" / "bot_user_agents.txt"
    lines = (line.strip().lower() for line in path.read_text().splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def invalid_traffic_reason(user_agent: str) -> str:
    """'' for ordinary traffic, else why the event is excluded from net counts."""
    ua = user_agent.strip().lower()
    if not ua:
        return "empty_user_agent"
    if any(marker in ua for marker in _bot_markers()):
        return "bot"
    return ""


def _token_payload(token: str, kind: str) -> dict:
    try:
        payload = signing.loads(token, salt=TRACKING_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise TrackingRejected("This tracking link has expired.", code="expired_token") from exc
    except signing.BadSignature as exc:
        raise TrackingRejected("This tracking link is not valid.") from exc
    if payload.get("e") != kind:
        raise TrackingRejected(f"This is not a {kind} link.")
    return payload


def event_record(*, token: str, kind: str, user_agent: str = "", ip: str | None = None) -> tuple[Event, Creative]:
    """Store the event for a signed token once (a replayed token returns the stored event)."""
    payload = _token_payload(token, kind)
    event_id = hashlib.sha256(token.encode()).hexdigest()
    existing = Event.objects.filter(event_id=event_id).select_related("creative__campaign").first()
    if existing:
        return existing, existing.creative
    creative = Creative.objects.select_related("campaign").filter(pk=payload["c"]).first()
    if creative is None:
        raise TrackingRejected("The creative of this link no longer exists.", code="unknown_creative")
    duplicate = (
        kind == Event.Kind.CLICK
        and Event.objects.filter(
            kind=Event.Kind.CLICK,
            serve_id=payload["s"],
            duplicate=False,
            occurred_at__gte=timezone.now() - timedelta(seconds=CLICK_DEDUPE_WINDOW),
        ).exists()
    )
    try:
        with transaction.atomic():
            event = Event.objects.create(
                event_id=event_id,
                kind=kind,
                creative=creative,
                placement_id=payload["p"],
                serve_id=payload["s"],
                occurred_at=timezone.now(),
                user_agent=user_agent[:400],
                ip=ip,
                duplicate=duplicate,
                invalid_reason=invalid_traffic_reason(user_agent),
            )
    except IntegrityError:  # the same token arriving twice at once
        event = Event.objects.get(event_id=event_id)
    return event, creative


def rollups_build(*, start, end) -> int:
    """Recount the hours in [start, end) from raw events; idempotent (a re-run gives the same rows).

    Each hour is rebuilt whole inside one transaction, so a reader sees either the old or the
    new numbers for it. Returns the number of rollup rows written.
    """
    from django.db.models import Count, Q
    from django.db.models.functions import TruncHour

    from .models import HourlyRollup

    start = start.replace(minute=0, second=0, microsecond=0)
    net = Q(duplicate=False, invalid_reason="")
    rows = (
        Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(hour=TruncHour("occurred_at"))
        .values("hour", "creative_id", "placement_id", "creative__template_version_id")
        .annotate(
            impressions_gross=Count("pk", filter=Q(kind=Event.Kind.IMPRESSION)),
            impressions=Count("pk", filter=Q(kind=Event.Kind.IMPRESSION) & net),
            clicks_gross=Count("pk", filter=Q(kind=Event.Kind.CLICK)),
            clicks=Count("pk", filter=Q(kind=Event.Kind.CLICK) & net),
            conversions_gross=Count("pk", filter=Q(kind=Event.Kind.CONVERSION)),
            conversions=Count("pk", filter=Q(kind=Event.Kind.CONVERSION) & net),
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
                    impressions_gross=r["impressions_gross"],
                    impressions=r["impressions"],
                    clicks_gross=r["clicks_gross"],
                    clicks=r["clicks"],
                    conversions_gross=r["conversions_gross"],
                    conversions=r["conversions"],
                )
                for r in rows
            ]
        )
    return HourlyRollup.objects.filter(hour__gte=start, hour__lt=end).count()


def serving_stats_refresh() -> int:
    """Push each live campaign's net (impressions, clicks) per creative into the serving cache."""
    from django.db.models import Sum

    from campaigns.models import Campaign
    from campaigns.serving import creative_stats_cache_set

    from .models import HourlyRollup

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


def conversion_record(*, placement, order_id: str, click_token: str) -> tuple[Event, bool]:
    """A server-to-server conversion postback, idempotent on the order id: (event, created).

    The click token ties the order to the creative that earned it; it must belong to the
    reporting placement. The same order id again with the same click is a replay (stored
    once); with a different click it is a conflict.
    """
    from creativeadmin.errors import ConflictError, NotFoundError

    payload = _token_payload(click_token, "click")
    if payload["p"] != placement.pk:
        raise NotFoundError("This click was not served by your placement.")
    event_id = hashlib.sha256(f"conversion:{placement.pk}:{order_id}".encode()).hexdigest()
    existing = Event.objects.filter(event_id=event_id).first()
    if existing:
        if existing.serve_id != payload["s"] or existing.creative_id != payload["c"]:
            raise ConflictError(f"Order {order_id} was already reported for another click.", code="order_conflict")
        return existing, False
    creative = Creative.objects.filter(pk=payload["c"]).first()
    if creative is None:
        raise TrackingRejected("The creative of this click no longer exists.", code="unknown_creative")
    try:
        with transaction.atomic():
            event = Event.objects.create(
                event_id=event_id,
                kind=Event.Kind.CONVERSION,
                creative=creative,
                placement=placement,
                serve_id=payload["s"],
                occurred_at=timezone.now(),
                user_agent="postback",
            )
    except IntegrityError:  # the same postback arriving twice at once
        return Event.objects.get(event_id=event_id), False
    return event, True
