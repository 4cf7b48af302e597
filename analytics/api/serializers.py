"""Input and output of the event batch endpoint.

The whole batch is validated before anything is stored; an error names each bad event by
its index in `events`, under `extra.fields.events`.
"""

import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_error_detail

from campaigns.models import Creative

from ..errors import TrackingRejected
from ..models import Event
from ..services import (
    BATCH_MAX_EVENTS,
    EVENT_MAX_AHEAD,
    TOKEN_MAX_AGE,
    TrackingToken,
    events_batch_size_check,
    tracking_token_read,
)


class AwareDateTimeField(serializers.DateTimeField):
    """A time with its UTC offset: without one, a server-to-server report would be hours off unnoticed."""

    default_error_messages = {"naive": "Give the time with its UTC offset, e.g. 2026-11-24T20:15:00+08:00."}

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


# Documented as a pattern rather than an enum: a second enum of fields named "kind" would make
# drf-spectacular rename the templates' KindEnum component, which clients are generated from.
@extend_schema_field({"type": "string", "pattern": "^(impression|click)$"})
class BatchEventKindField(serializers.ChoiceField):
    pass


class BatchEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=100, help_text="Your id for the event: sent again, it is counted once.")
    kind = BatchEventKindField(
        choices=[Event.Kind.IMPRESSION, Event.Kind.CLICK],
        help_text="impression or click",
        error_messages={
            "invalid_choice": '"{input}" is not a kind of batch event: impression or click '
            "(conversions go to /api/v1/conversions, idempotent on the order id)."
        },
    )
    token = serializers.CharField(
        max_length=1000, help_text="The token of the impression or click URL serving returned (after /t/i/ or /t/c/)."
    )
    occurred_at = AwareDateTimeField(
        help_text="When it happened, ISO 8601 with offset: at most 1 h ahead of the server and 24 h behind it. "
        "Outside its token's lifetime (from 5 min before the serve to 24 h after) it is stored, not counted."
    )
    user_agent = serializers.CharField(
        default="", allow_blank=True, help_text="The viewer's user agent; empty or a crawler's is stored, not counted."
    )
    ip = serializers.IPAddressField(
        default=None,
        allow_null=True,
        help_text="The viewer's address; a burst from one address is stored, not counted. Events without one "
        "count towards bursts together, per placement.",
    )

    def validate_occurred_at(self, value):
        if problem := _occurred_at_problem(value):
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs):
        try:
            read = tracking_token_read(token=attrs["token"], kind=attrs["kind"], placement=self.context["placement"])
        except TrackingRejected as exc:
            raise serializers.ValidationError({"token": [exc.message]}, code=exc.code) from exc
        return {**attrs, **_from_token(read)}


def _from_token(read: TrackingToken) -> dict:
    """What a batch event takes from its verified token (the serve it belongs to)."""
    return {
        "creative_id": read.creative_id,
        "serve_id": read.serve_id,
        "segment": read.segment,
        "issued_at": read.issued_at,
    }


def _occurred_at_problem(value: datetime, now: datetime | None = None) -> str:
    now = timezone.now() if now is None else now
    if value > now + timedelta(seconds=EVENT_MAX_AHEAD):
        return f"More than {EVENT_MAX_AHEAD // 60} minutes in the future; check the reporting clock."
    if value < now - timedelta(seconds=TOKEN_MAX_AGE):
        return f"Older than a tracking token lives ({TOKEN_MAX_AGE // 3600} h)."
    return ""


_KINDS = {str(kind): kind for kind in (Event.Kind.IMPRESSION, Event.Kind.CLICK)}
# Dotted-quad IPv4 as ipaddress.IPv4Address reads it: ASCII digits, each octet 0-255 without a leading
# zero. A subset of what the serializer's validator takes (anything else goes to it), at a tenth of its cost.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _plain(value, max_length: int | None, *, blank: bool = False) -> bool:
    """A string CharField would take unchanged: nothing to trim, no control, NUL or lone surrogate."""
    return (
        type(value) is str
        and (blank or value != "")
        and (max_length is None or len(value) <= max_length)
        and (value == "" or (value.isprintable() and value == value.strip()))
    )


def _batch_event_quick(item, placement, now: datetime | None = None, zone=None) -> dict | None:
    """What BatchEventSerializer returns for `item`, for the usual well-formed event; None for anything else.

    It accepts a subset of what the serializer accepts and returns the same values, so an event
    it passes over (a bad one, or an unusual one: an IPv6 address, whitespace to trim, a number
    for an id) is judged by the serializer itself, with its error messages. `now` and `zone` (the
    current time zone) are read once a batch by its caller.
    """
    if type(item) is not dict:
        return None
    event_id, kind, token, at = item.get("id"), item.get("kind"), item.get("token"), item.get("occurred_at")
    user_agent, ip = item.get("user_agent", ""), item.get("ip")
    if not (
        _plain(event_id, 100)
        and type(kind) is str
        and kind in _KINDS
        and _plain(token, 1000)
        and type(at) is str
        and _plain(user_agent, None, blank=True)
    ):
        return None
    if ip is not None and not (type(ip) is str and _IPV4.fullmatch(ip)):
        return None
    try:
        parsed = parse_datetime(at)
        if parsed is None or timezone.is_naive(parsed):
            return None
        occurred_at = parsed.astimezone(timezone.get_current_timezone() if zone is None else zone)
    except (ValueError, TypeError, OverflowError):
        return None
    if _occurred_at_problem(occurred_at, now):
        return None
    try:
        read = tracking_token_read(token=token, kind=kind, placement=placement)
    except TrackingRejected:
        return None
    return {
        "id": event_id,
        "kind": _KINDS[kind],
        "token": token,
        "occurred_at": occurred_at,
        "user_agent": user_agent,
        "ip": ip,
        **_from_token(read),
    }


class BatchEventListField(serializers.ListField):
    """The batch's events, each validated as BatchEventSerializer does, errors keyed by index.

    Through DRF's field machinery 1,000 events cost several times what storing them does, so
    the usual well-formed event takes a quick path with the same outcome (`_batch_event_quick`);
    every other event, and so every error, goes through the serializer.
    """

    def run_child_validation(self, data):
        placement = self.context["placement"]
        now, zone = timezone.now(), timezone.get_current_timezone()
        result, errors = [], {}
        for index, item in enumerate(data):
            value = _batch_event_quick(item, placement, now, zone)
            if value is None:
                try:
                    value = self.child.run_validation(item)
                except serializers.ValidationError as exc:
                    errors[index] = exc.detail
                    continue
                except DjangoValidationError as exc:
                    errors[index] = get_error_detail(exc)
                    continue
            result.append(value)
        if errors:
            raise serializers.ValidationError(errors)
        return result


class EventBatchSerializer(serializers.Serializer):
    events = BatchEventListField(
        child=BatchEventSerializer(), allow_empty=False, help_text=f"1 to {BATCH_MAX_EVENTS} events."
    )

    def to_internal_value(self, data):
        events = data.get("events") if isinstance(data, dict) else None
        if isinstance(events, list):
            events_batch_size_check(count=len(events))  # 413 before any event is checked
        return super().to_internal_value(data)

    def validate_events(self, events):
        # A creative deleted since it was served takes no events (the pixel refuses them too); one query.
        creative_ids = {e["creative_id"] for e in events}
        existing = set(Creative.objects.filter(pk__in=creative_ids).values_list("pk", flat=True))
        gone = {
            i: {"token": ["The creative of this token no longer exists."]}
            for i, e in enumerate(events)
            if e["creative_id"] not in existing
        }
        if gone:
            raise serializers.ValidationError(gone)
        return events


class EventIngestedSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField(help_text='"stored", or "replay" for an id already stored with the same body.')


class EventBatchResultSerializer(serializers.Serializer):
    stored = serializers.IntegerField(help_text="Events stored by this request.")
    replayed = serializers.IntegerField(help_text="Events already stored with the same id and body.")
    results = EventIngestedSerializer(many=True, help_text="One per event, in the order sent.")
