"""Writes for the analytics app, one module per concern.

- events: the raw-SQL event store every path writes through (one row per event id)
- tracking: a tracking token checked and one pixel or click event recorded
- ingestion: a placement's batch of events, idempotent per event id
- conversions: an order reported against a click
- rollups: hourly and daily rollups, and the per-creative totals pushed to serving

Re-exported here: what views, the API, commands, tasks and other code call.
"""

from .conversions import conversion_record
from .ingestion import (
    BATCH_MAX_EVENTS,
    EVENT_MAX_AHEAD,
    BatchEvent,
    BatchIngested,
    EventIngested,
    events_batch_size_check,
    events_ingest,
)
from .rollups import daily_rollups_build, rollups_build, serving_stats_refresh
from .tracking import TOKEN_MAX_AGE, EventRecorded, TrackingToken, event_record, tracking_token_read

__all__ = [
    "BATCH_MAX_EVENTS",
    "EVENT_MAX_AHEAD",
    "TOKEN_MAX_AGE",
    "BatchEvent",
    "BatchIngested",
    "EventIngested",
    "EventRecorded",
    "TrackingToken",
    "conversion_record",
    "daily_rollups_build",
    "event_record",
    "events_batch_size_check",
    "events_ingest",
    "rollups_build",
    "serving_stats_refresh",
    "tracking_token_read",
]
