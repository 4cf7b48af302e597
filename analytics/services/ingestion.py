"""Batch ingestion: a placement's server reports up to BATCH_MAX_EVENTS events at once, each with its
own id; a batch sent again is stored once, a changed event under a used id is a conflict, and
duplicates and bursts are flagged before the rows are inserted."""

import bisect
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from campaigns.models import Placement
from creativeadmin.errors import ConflictError, PayloadTooLarge

from ..models import NET, Event
from .events import NET_SQL, RACE_ATTEMPTS, NewEvent, events_insert
from .tracking import invalid_traffic_reason, token_time_reason

BATCH_MAX_EVENTS = 1000
_json_string = json.encoder.encode_basestring_ascii  # a str as json.dumps writes it (ensure_ascii)
EVENT_MAX_AHEAD = 3600  # seconds an event's time may lie ahead of ours (clock skew), no more
BURST_WINDOW = 60  # seconds; more than TRACKING_BURST_EVENTS_PER_MINUTE events of one key in it is a burst


@dataclass(frozen=True)
class BatchEvent:
    """One event of a placement's batch, validated; `creative_id` and `serve_id` come from its verified token."""

    id: str
    kind: str
    token: str
    occurred_at: datetime
    creative_id: int
    serve_id: str
    issued_at: datetime  # the token's; like the segment, not part of what was reported (nor of the body hash)
    user_agent: str = ""
    ip: str | None = None
    segment: str = ""

    def body_hash(self) -> str:
        """sha256 of what was reported: the same event sent again hashes the same, however its JSON was laid out.

        The JSON hashed is `json.dumps(body, sort_keys=True)` of the six fields (stored hashes are
        compared with it), written out with the json module's own string encoder: a third of the cost.
        """
        ip = "null" if self.ip is None else _json_string(self.ip)
        body = (
            f'{{"id": {_json_string(self.id)}, "ip": {ip}, "kind": {_json_string(self.kind)}, '
            f'"occurred_at": {_json_string(self.occurred_at.astimezone(UTC).isoformat())}, '
            f'"token": {_json_string(self.token)}, "user_agent": {_json_string(self.user_agent)}}}'
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class EventIngested:
    id: str
    status: str  # "stored", or "replay" for an id already stored with the same body


@dataclass(frozen=True)
class BatchIngested:
    results: list[EventIngested]  # in the batch's order

    @property
    def stored(self) -> int:
        return sum(r.status == "stored" for r in self.results)

    @property
    def replayed(self) -> int:
        return sum(r.status == "replay" for r in self.results)


def events_batch_size_check(*, count: int) -> None:
    """PayloadTooLarge for a batch of more than BATCH_MAX_EVENTS events (cheap: check it before the events)."""
    if count > BATCH_MAX_EVENTS:
        raise PayloadTooLarge(
            f"At most {BATCH_MAX_EVENTS} events per request; this one has {count}.",
            code="too_many_events",
            extra={"max_events": BATCH_MAX_EVENTS},
        )


def events_ingest(*, placement: Placement, events: Sequence[BatchEvent]) -> BatchIngested:
    """Store a placement's batch of events all or nothing, each id once; a result per event.

    An id already stored, or met earlier in the batch, with the same body is a replay: stored
    once, reported as "replay". New events are stored and flagged by the rules the tracking
    endpoints apply (crawler and empty user agents, tokens served before a key revocation, times
    outside the token's lifetime: `token_time_reason`; an event whose serve already counts one of
    its kind, stored or earlier in the batch, is a duplicate) and one more: bursts (see
    `_flag_duplicates_and_bursts`). Events older than the hours the periodic rollup refresh
    covers get their hours rebuilt after commit.

    Raises PayloadTooLarge past BATCH_MAX_EVENTS, and ConflictError when an id was reported
    before (or in this batch) with a different body; nothing is stored then.
    """
    events_batch_size_check(count=len(events))
    keyed = [(_batch_event_id(placement, e.id), e.body_hash(), e) for e in events]
    body_of: dict[str, str] = {}  # event_id -> body hash of its first occurrence in the batch
    conflicts = {
        i for i, (event_id, body_hash, _) in enumerate(keyed) if body_of.setdefault(event_id, body_hash) != body_hash
    }
    if conflicts:  # named with any conflicts with stored events, as the careful path would
        conflicts |= _stored_conflicts(keyed, _stored_body_hashes(body_of))
        raise _batch_conflict(keyed, conflicts)
    inserted = _ingest_all_new(placement, keyed)
    if inserted is None:  # some ids were stored before (or a concurrent batch was in the way): look first
        inserted = _ingest_with_stored(placement, keyed, body_of)
    results, reported = [], set()
    for event_id, _, event in keyed:  # the first occurrence of an id this request stored is "stored"
        first = event_id in inserted and event_id not in reported
        reported.add(event_id)
        results.append(EventIngested(id=event.id, status="stored" if first else "replay"))
    return BatchIngested(results=results)


class _SomeStoredBefore(Exception):
    pass


def _ingest_all_new(placement: Placement, keyed: list[tuple[str, str, BatchEvent]]) -> set[str] | None:
    """Store a batch none of whose ids is stored yet (the usual one): the ids stored, or None, and
    nothing stored, when some id was (a replay, or a concurrent request's).

    Saves `_ingest_with_stored`'s lookups of every id and every serve before the insert: the
    insert itself says whether each id was new, and the `event_net_per_serve` constraint refuses
    it (IntegrityError) if a serve already counted what one of its events would count. So when it
    succeeds the flags are those the careful path gives; otherwise it is None, nothing stored,
    as when some id was stored (`_met_counted_events`).
    """
    rows = _new_rows(placement, keyed, skip=set())
    _flag_duplicates_and_bursts(rows)
    try:
        with transaction.atomic():
            inserted = events_insert(rows)
            if len(inserted) != len(rows):
                raise _SomeStoredBefore  # rolls the insert back
            _late_rollups_rebuild(rows)
    except _SomeStoredBefore:
        return None
    except (IntegrityError, OperationalError) as exc:
        if not _met_counted_events(exc):
            raise
        return None
    return inserted


def _met_counted_events(exc: Exception) -> bool:
    """Whether a failed (and rolled back) insert met counted events it had not looked up, so that
    looking (again) and retrying is right: an event of a serve it was about to count already
    counted, stored before or by a concurrent request (the `event_net_per_serve` constraint refused
    the second), or two requests deadlocked waiting for each other's such rows (PostgreSQL broke
    it by failing this one)."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)  # psycopg's; SQLite gives none
    if sqlstate is not None:
        return sqlstate in ("23505", "40P01")  # unique_violation (not a foreign key's), deadlock_detected
    return isinstance(exc, IntegrityError) and "UNIQUE constraint failed" in str(exc)


def _ingest_with_stored(
    placement: Placement, keyed: list[tuple[str, str, BatchEvent]], body_of: dict[str, str]
) -> set[str]:
    """Store the events of a batch whose ids are not stored yet; ConflictError (nothing stored) when a
    stored id has another body. The stored ones are left out before the new ones are flagged, so a
    replay does not count twice towards a burst. Tried again, from the lookups on, when a concurrent
    request's events came to count in between (up to RACE_ATTEMPTS times)."""
    for attempt in range(RACE_ATTEMPTS):
        try:
            return _ingest_with_stored_once(placement, keyed, body_of)
        except (IntegrityError, OperationalError) as exc:
            if attempt == RACE_ATTEMPTS - 1 or not _met_counted_events(exc):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _ingest_with_stored_once(
    placement: Placement, keyed: list[tuple[str, str, BatchEvent]], body_of: dict[str, str]
) -> set[str]:
    stored = _stored_body_hashes(body_of)
    conflicts = _stored_conflicts(keyed, stored)
    if conflicts:
        raise _batch_conflict(keyed, conflicts)
    rows = _new_rows(placement, keyed, skip=set(stored))
    if not rows:
        return set()
    _flag_duplicates_and_bursts(rows, _counted_serves(rows))
    with transaction.atomic():
        inserted = events_insert(rows)
        # A concurrent request may have stored one of these ids first: with the same body it is
        # the same event (a replay); with another, this batch conflicts and is rolled back whole.
        raced = {r.event_id for r in rows} - inserted
        if raced:
            theirs = _stored_body_hashes(raced)
            conflicting = {event_id for event_id in raced if theirs.get(event_id) != body_of[event_id]}
            if conflicting:
                indexes = {i for i, (event_id, _, _) in enumerate(keyed) if event_id in conflicting}
                raise _batch_conflict(keyed, indexes)
        _late_rollups_rebuild(rows)
    return inserted


def _stored_conflicts(keyed: list[tuple[str, str, BatchEvent]], stored: dict[str, str]) -> set[int]:
    """Indexes of the batch's events whose id is stored with another body."""
    return {i for i, (event_id, body_hash, _) in enumerate(keyed) if stored.get(event_id, body_hash) != body_hash}


def _new_rows(placement: Placement, keyed: list[tuple[str, str, BatchEvent]], *, skip: set[str]) -> list[NewEvent]:
    """A row per id of the batch (its first occurrence) not in `skip`, flagged but for bursts and duplicates."""
    rows, seen = [], set(skip)
    for event_id, body_hash, event in keyed:
        if event_id in seen:
            continue
        seen.add(event_id)
        rows.append(
            NewEvent(
                event_id=event_id,
                kind=event.kind,
                creative_id=event.creative_id,
                placement_id=placement.pk,
                serve_id=event.serve_id,
                segment=event.segment,
                occurred_at=event.occurred_at,
                user_agent=event.user_agent[:400],
                ip=event.ip,
                body_hash=body_hash,
                invalid_reason=invalid_traffic_reason(event.user_agent)
                or token_time_reason(
                    occurred_at=event.occurred_at,
                    issued_at=event.issued_at,
                    revoked_before=placement.tokens_revoked_before,
                ),
            )
        )
    return rows


def _stored_body_hashes(event_ids) -> dict[str, str]:
    """event id -> body hash, for the ids among `event_ids` already stored."""
    if connection.vendor != "postgresql":
        return dict(Event.objects.filter(event_id__in=event_ids).values_list("event_id", "body_hash"))
    # One JSON parameter rather than a thousand bound ones: the ORM compiles and the driver adapts
    # those one by one, several times the cost of the index lookups themselves.
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT event_id, body_hash FROM {table} WHERE event_id IN (SELECT json_array_elements_text(%s::json))",
            [json.dumps(list(event_ids))],
        )
        return dict(cursor.fetchall())


def _batch_event_id(placement: Placement, event_id: str) -> str:
    # The ids are the placement's own, so two placements may both send "1"; the prefix also keeps
    # them apart from the pixel's and the postback's event ids.
    return hashlib.sha256(f"batch:{placement.pk}:{event_id}".encode()).hexdigest()


def _batch_conflict(keyed: list[tuple[str, str, BatchEvent]], indexes: set[int]) -> ConflictError:
    return ConflictError(
        f"{len(indexes)} event id(s) were already reported with a different body; nothing was stored.",
        code="event_conflict",
        extra={"events": {i: keyed[i][2].id for i in sorted(indexes)}},
    )


def _flag_duplicates_and_bursts(rows: list[NewEvent], counted: set[tuple[str, str]] | None = None) -> None:
    """Set the burst `invalid_reason` and `duplicate` on new events, in the order they happened.

    Burst: an event past TRACKING_BURST_EVENTS_PER_MINUTE within BURST_WINDOW seconds of one key,
    counting stored events and the batch's earlier ones: its viewer's address or, reported
    without one, its placement (such events count together: leaving the address out does not
    escape the rule); and, among the batch's events, its serve (from any address; stored events
    of a serve are not looked up: past the first of each kind they are duplicates anyway).
    Duplicate: an event that would count, but its serve already counts one of its kind: in
    `counted` ((serve id, kind) pairs stored, when looked up) or earlier in the batch; so two
    clicks on one impression in one batch count once, as they would arriving one by one. Only an
    event that counts takes its serve's place.
    """
    earliest, latest = min(r.occurred_at for r in rows), max(r.occurred_at for r in rows)
    burst = timedelta(seconds=BURST_WINDOW)
    burst_limit = getattr(settings, "TRACKING_BURST_EVENTS_PER_MINUTE", 120)
    times = _stored_burst_times(rows, earliest - burst, latest)
    counted = set(counted or ())

    for row in sorted(rows, key=lambda r: r.occurred_at):  # a stable sort: ties keep the batch's order
        over = False
        for key in (("ip", row.ip) if row.ip else ("placement", row.placement_id), ("serve", row.serve_id)):
            key_times = times[key]
            bisect.insort(key_times, row.occurred_at)
            in_window = bisect.bisect_right(key_times, row.occurred_at) - bisect.bisect_right(
                key_times, row.occurred_at - burst
            )
            over = over or in_window > burst_limit
        if over and not row.invalid_reason:
            row.invalid_reason = Event.Reason.BURST
        if not row.invalid_reason:
            row.duplicate = (row.serve_id, row.kind) in counted
            counted.add((row.serve_id, row.kind))


def _stored_burst_times(rows: list[NewEvent], after: datetime, until: datetime) -> defaultdict[tuple, list[datetime]]:
    """Burst key -> the times of its stored events in (after, until], in order: ("ip", address) and,
    if some row has no address, ("placement", id) (its impressions and clicks stored without one).
    One round trip on PostgreSQL."""
    ips = sorted({r.ip for r in rows if r.ip})
    placement_id = rows[0].placement_id if any(not r.ip for r in rows) else None  # a batch is one placement's
    if connection.vendor == "postgresql":
        # One index lookup per address, whatever the planner makes of the time range: right after
        # a rush of inserts its statistics show the last minute nearly empty, and it would read
        # every event of that minute (40 ms a batch at 20,000 events/s) to find a few addresses.
        # OFFSET 0 keeps the per-address subquery from being flattened into such a plan.
        table = connection.ops.quote_name(Event._meta.db_table)
        sql = (
            "SELECT e.ip, e.occurred_at FROM json_array_elements_text(%s::json) AS q(ip) CROSS JOIN LATERAL"
            f" (SELECT ip, occurred_at FROM {table} WHERE ip = q.ip::inet AND occurred_at > %s AND occurred_at <= %s"
            " OFFSET 0) AS e"
        )
        params = [json.dumps(ips), after, until]  # one JSON parameter: see _stored_body_hashes
        if placement_id is not None:
            sql += (
                f" UNION ALL SELECT NULL, occurred_at FROM {table} WHERE placement_id = %s AND ip IS NULL"
                " AND kind <> 'conversion' AND occurred_at > %s AND occurred_at <= %s"
            )
            params += [placement_id, after, until]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            stored = cursor.fetchall()
    else:
        stored = list(
            Event.objects.filter(ip__in=ips, occurred_at__gt=after, occurred_at__lte=until)
            .values_list("ip", "occurred_at")
            .order_by()
        )
        if placement_id is not None:
            stored += (
                Event.objects.filter(
                    placement_id=placement_id, ip__isnull=True, occurred_at__gt=after, occurred_at__lte=until
                )
                .exclude(kind=Event.Kind.CONVERSION)
                .values_list("ip", "occurred_at")
                .order_by()
            )
    times: defaultdict[tuple, list[datetime]] = defaultdict(list)
    for ip, at in stored:
        times[("ip", str(ip)) if ip is not None else ("placement", placement_id)].append(at)
    for key_times in times.values():
        key_times.sort()
    return times


def _counted_serves(rows: list[NewEvent]) -> set[tuple[str, str]]:
    """The (serve id, kind) pairs of the rows' serves that stored events already count (whenever they
    happened), through the `event_net_per_serve` index."""
    serves = sorted({r.serve_id for r in rows})
    if connection.vendor != "postgresql":
        return set(Event.objects.filter(NET, serve_id__in=serves).values_list("serve_id", "kind").order_by())
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.serve_id, e.kind FROM {table} AS e WHERE e.serve_id IN"
            f" (SELECT json_array_elements_text(%s::json)) AND {NET_SQL.format(t='e')}",
            [json.dumps(serves)],  # one JSON parameter: see _stored_body_hashes
        )
        return set(cursor.fetchall())


def _late_rollups_rebuild(rows: list[NewEvent]) -> None:
    """Queue a rebuild reaching back to the oldest event when it lies before the previous hour.

    The periodic refresh rebuilds only the last few hours (at least this one and the last);
    a batch may report events up to TOKEN_MAX_AGE old, which would otherwise never be counted.
    """
    from ..tasks import rollups_refresh  # tasks import this module

    now = timezone.now()
    earliest = min(r.occurred_at for r in rows)
    if earliest < now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1):
        rollups_refresh.delay_on_commit(hours=math.ceil((now - earliest) / timedelta(hours=1)) + 1)
