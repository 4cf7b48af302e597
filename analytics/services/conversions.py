"""Conversions: an order reported against a click token, counted once per serve."""

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Creative
from creativeadmin.errors import ConflictError, NotFoundError

from ..errors import TrackingRejected
from ..models import NET, Event
from .events import RACE_ATTEMPTS
from .tracking import TrackingToken, token_read, token_time_reason


def conversion_record(*, placement, order_id: str, click_token: str) -> tuple[Event, bool]:
    """A server-to-server conversion postback, idempotent on the order id: (event, created).

    The click token ties the order to the creative that earned it; it must belong to the
    reporting placement. The same order id again with the same click is a replay (stored
    once); with a different click it is a conflict. A new order is stored, and counts only on
    a click its serve counts (else `no_click`: report the click first) and as the first order on
    that click (later ones are duplicates: the conversion rate is a share of clicks); a token
    served before a key revocation or an order outside the token's lifetime counts nothing either.
    """

    read = token_read(click_token, "click")
    if read.placement_id != placement.pk:
        raise NotFoundError("This click was not served by your placement.")
    event_id = hashlib.sha256(f"conversion:{placement.pk}:{order_id}".encode()).hexdigest()

    def replayed(existing: Event) -> tuple[Event, bool]:
        if existing.serve_id != read.serve_id or existing.creative_id != read.creative_id:
            raise ConflictError(f"Order {order_id} was already reported for another click.", code="order_conflict")
        return existing, False

    if existing := Event.objects.filter(event_id=event_id).first():
        return replayed(existing)
    creative = Creative.objects.filter(pk=read.creative_id).first()
    if creative is None:
        raise TrackingRejected("The creative of this click no longer exists.", code="unknown_creative")
    now = timezone.now()
    reason = token_time_reason(
        occurred_at=now, issued_at=read.issued_at, revoked_before=placement.tokens_revoked_before
    )
    attempts = RACE_ATTEMPTS
    while True:
        attempts -= 1
        try:
            return _conversion_create(
                read, event_id, creative=creative, placement=placement, now=now, reason=reason
            ), True
        except IntegrityError:
            # The same postback arriving twice at once (a replay), or another order on this click
            # counted in between (the constraint refused this one as a second: look again).
            if existing := Event.objects.filter(event_id=event_id).first():
                return replayed(existing)
            if not attempts:
                raise


def _conversion_create(read: TrackingToken, event_id: str, *, creative, placement, now, reason: str) -> Event:
    """Store a new conversion flagged by what its serve counts so far; IntegrityError if its id was
    stored meanwhile, or if another conversion of its serve came to count in between."""
    counted = set(
        Event.objects.filter(NET, serve_id=read.serve_id, kind__in=[Event.Kind.CLICK, Event.Kind.CONVERSION])
        .values_list("kind", flat=True)
    )  # fmt: skip
    invalid_reason = reason or ("" if Event.Kind.CLICK in counted else Event.Reason.NO_CLICK)
    with transaction.atomic():
        return Event.objects.create(
            event_id=event_id,
            kind=Event.Kind.CONVERSION,
            creative=creative,
            placement=placement,
            serve_id=read.serve_id,
            segment=read.segment,
            occurred_at=now,
            user_agent="postback",
            invalid_reason=invalid_reason,
            duplicate=not invalid_reason and Event.Kind.CONVERSION in counted,
        )
