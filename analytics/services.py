"""Event tracking: validate a signed tracking token, then record the event once.

Tokens are the ones serving handed out (django.core.signing, salt campaigns.tracking), so a
forged or edited token is refused before anything is stored, and a click always goes to the
landing URL stored for the campaign, never to one taken from the request.
"""

import bisect
import functools
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from campaigns.models import Creative, Placement
from campaigns.serving import serving_lookup, tracking_token_payload
from creativeadmin.errors import ApplicationError, ConflictError, PayloadTooLarge

from .models import Event

TOKEN_MAX_AGE = 24 * 3600
CLICK_DEDUPE_WINDOW = 30 * 60
BATCH_MAX_EVENTS = 1000
EVENT_MAX_AHEAD = 3600  # seconds an event's time may lie ahead of ours (clock skew), no more
BURST_WINDOW = 60  # seconds; more than TRACKING_BURST_EVENTS_PER_MINUTE events from one address in it is a burst


class TrackingRejected(ApplicationError):
    default_code = "bad_token"


@functools.lru_cache(maxsize=1)
def _bot_markers() -> tuple[str, ...]:
    path = Path(__file__).resolve().parent / "data" / "bot_user_agents.txt"
    lines = (line.strip().lower() for line in path.read_text().splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


@functools.lru_cache(maxsize=4096)  # user agents repeat: most traffic comes from a few hundred of them
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
        payload = tracking_token_payload(token, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise TrackingRejected("This tracking link has expired.", code="expired_token") from exc
    except signing.BadSignature as exc:
        raise TrackingRejected("This tracking link is not valid.") from exc
    if payload.get("e") != kind:
        raise TrackingRejected(f"This is not a {kind} link.")
    return payload


def tracking_token_read(*, token: str, kind: str, placement: Placement) -> dict:
    """What a tracking token served to `placement` says: {"c": creative id, "p": placement id, "s": serve id}.

    Raises TrackingRejected for a forged, edited or expired token, one of another kind, or one
    that serving handed to another placement.
    """
    payload = _token_payload(token, kind)
    if payload.get("p") != placement.pk:
        raise TrackingRejected("This token was served to another placement.", code="other_placement")
    return payload


@dataclass(frozen=True)
class EventRecorded:
    event_id: str
    stored: bool  # False for a replay of a token already stored
    landing_url: str  # the campaign's stored landing page, where a click goes


@dataclass(frozen=True)
class _TrackedCreative:
    landing_url: str


def _tracked_creative(creative_id: int) -> _TrackedCreative | None:
    """The creative a token names (None once deleted), looked up once per serving version per process.

    Serving's lookup cache: deleting a creative or editing a campaign announces a new serving
    version (campaigns' model signals), so a process drops what it looked up within 0.25 s; an
    event for a creative deleted in between fails its foreign key and is refused all the same.
    """

    def lookup() -> _TrackedCreative | None:
        row = Creative.objects.filter(pk=creative_id).values_list("campaign__landing_url").first()
        return None if row is None else _TrackedCreative(landing_url=row[0])

    return serving_lookup(("tracking-creative", creative_id), lookup)


def event_record(*, token: str, kind: str, user_agent: str = "", ip: str | None = None) -> EventRecorded:
    """Store the event for a signed token once: one insert (a replayed token stores nothing).

    Impressions cost no other query (the creative comes from serving's lookup cache); a click
    also checks for a counted click on the same impression within CLICK_DEDUPE_WINDOW and is
    kept as a duplicate if there is one. Raises TrackingRejected for a bad token or a creative
    that no longer exists.
    """
    payload = _token_payload(token, kind)
    creative = _tracked_creative(payload["c"])
    if creative is None:
        raise TrackingRejected("The creative of this link no longer exists.", code="unknown_creative")
    now = timezone.now()

    def store() -> set[str]:
        duplicate = (
            kind == Event.Kind.CLICK
            and Event.objects.filter(
                kind=Event.Kind.CLICK,
                serve_id=payload["s"],
                duplicate=False,
                occurred_at__gte=now - timedelta(seconds=CLICK_DEDUPE_WINDOW),
            ).exists()
        )
        row = _NewEvent(
            event_id=event_id,
            kind=kind,
            creative_id=payload["c"],
            placement_id=payload["p"],
            serve_id=payload["s"],
            segment=payload.get("g", ""),
            occurred_at=now,
            user_agent=user_agent[:400],
            ip=ip,
            duplicate=duplicate,
            invalid_reason=invalid_traffic_reason(user_agent),
        )
        return _events_insert([row])

    event_id = hashlib.sha256(token.encode()).hexdigest()
    try:
        stored = _on_a_live_connection(store)
    except IntegrityError as exc:  # its creative or placement was deleted since the lookup
        raise TrackingRejected("The creative of this link no longer exists.", code="unknown_creative") from exc
    return EventRecorded(event_id=event_id, stored=bool(stored), landing_url=creative.landing_url)


def _on_a_live_connection(operation):
    """`operation()`, idempotent, on the kept database connection; once more on a new connection if
    the server had dropped the kept one.

    What Django's health check (CONN_HEALTH_CHECKS) does before the first query of every request,
    `SELECT 1`, is a second round trip for a pixel's one insert; this costs nothing until a
    connection is lost. Inside a transaction there is nothing safe to retry: it runs as it is.
    """
    if connection.in_atomic_block:
        return operation()
    connection.health_check_done = True  # the check below stands in for Django's
    try:
        return operation()
    except (OperationalError, InterfaceError):
        connection.close()
        return operation()


@dataclass(slots=True)
class _NewEvent:
    """An event about to be stored (cheaper to build by the thousand than a model instance)."""

    event_id: str
    kind: str
    creative_id: int
    placement_id: int
    serve_id: str
    segment: str
    occurred_at: datetime
    user_agent: str
    ip: str | None
    invalid_reason: str = ""
    duplicate: bool = False
    body_hash: str = ""


_INSERTED_FIELDS = (
    "event_id", "kind", "creative_id", "placement_id", "serve_id", "segment", "occurred_at", "user_agent", "ip",
    "duplicate", "invalid_reason", "body_hash",
)  # fmt: skip
_INSERT_ROWS = 1000  # rows per statement: 12,000 parameters, within PostgreSQL's and SQLite's limits


def _events_insert(rows: Sequence[_NewEvent]) -> set[str]:
    """Insert new events, skipping ids already stored; returns the event ids this call stored.

    One `INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id` (PostgreSQL; SQLite
    >= 3.35): the database settles a replay, or a concurrent request storing the same id, and
    says which rows were ours. Plain SQL because for a batch the ORM's insert compiler, and
    binding 12 parameters a row, cost more than the database's work: on PostgreSQL a batch is
    one JSON array of rows as a single parameter (the json module writes it in C, where the
    driver adapts array parameters element by element in Python); otherwise rows of
    parameters, 1,000 rows a statement.

    Rows go in in event id order: two batches sharing ids (a client sending one again while the
    first is still being stored) then wait for each other's rows in the same order, never in
    a cycle, which PostgreSQL would break by failing one of them (a deadlock).
    """
    rows = sorted(rows, key=lambda r: r.event_id)
    stored: set[str] = set()
    if connection.vendor == "postgresql" and len(rows) > 1:
        records = [
            [
                r.event_id, r.kind, r.creative_id, r.placement_id, r.serve_id, r.segment, r.occurred_at.isoformat(),
                r.user_agent, r.ip or None, r.duplicate, r.invalid_reason, r.body_hash,
            ]
            for r in rows
        ]  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(connection.vendor, "json"), [json.dumps(records)])
            stored.update(row[0] for row in cursor.fetchall())
        return stored
    ops = connection.ops
    values = [
        (
            r.event_id, r.kind, r.creative_id, r.placement_id, r.serve_id, r.segment,
            ops.adapt_datetimefield_value(r.occurred_at), r.user_agent, r.ip or None, r.duplicate, r.invalid_reason,
            r.body_hash,
        )
        for r in rows
    ]  # fmt: skip
    with connection.cursor() as cursor:
        for start in range(0, len(values), _INSERT_ROWS):
            chunk = values[start : start + _INSERT_ROWS]
            cursor.execute(_insert_sql(connection.vendor, len(chunk)), [value for row in chunk for value in row])
            stored.update(row[0] for row in cursor.fetchall())
    return stored


@functools.cache
def _insert_sql(vendor: str, rows: int | str) -> str:
    """The statement `_events_insert` runs: `rows` rows of parameters, or "json" for one JSON array of rows."""
    ops = connection.ops
    fields = [Event._meta.get_field(name) for name in _INSERTED_FIELDS]
    event_id = ops.quote_name(fields[0].column)
    if rows == "json":
        # json_to_recordset reads objects; json_populate_recordset needs a row type: so each row
        # is an array, turned into the record's columns by position.
        columns = ", ".join(f"(r ->> {i})::{f.db_type(connection)}" for i, f in enumerate(fields))
        source = f"SELECT {columns} FROM json_array_elements(%s::json) AS r"
    else:
        source = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * rows)
    return (
        f"INSERT INTO {ops.quote_name(Event._meta.db_table)} ({', '.join(ops.quote_name(f.column) for f in fields)})"
        f" {source} ON CONFLICT ({event_id}) DO NOTHING RETURNING {event_id}"
    )


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
        .values("hour", "creative_id", "placement_id", "creative__template_version_id", "segment")
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
                    segment=r["segment"],
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
        daily_rollups_build(start, end)
    return HourlyRollup.objects.filter(hour__gte=start, hour__lt=end).count()


def daily_rollups_build(start, end) -> None:
    """Re-sum the local days that [start, end) touches from the hourly rollups (in the caller's transaction)."""
    from django.db.models import Sum

    from .models import DailyRollup, HourlyRollup

    tz = timezone.get_current_timezone()
    first_day = timezone.localtime(start, tz).date()
    last_day = timezone.localtime(end - timedelta(microseconds=1), tz).date()
    day_start = timezone.make_aware(datetime.combine(first_day, time.min), tz)
    day_end = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min), tz)
    sums: dict[tuple, list[int]] = {}
    fields = ("impressions_gross", "impressions", "clicks_gross", "clicks", "conversions_gross", "conversions")
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
                segment=payload.get("g", ""),
                occurred_at=timezone.now(),
                user_agent="postback",
            )
    except IntegrityError:  # the same postback arriving twice at once
        return Event.objects.get(event_id=event_id), False
    return event, True


@dataclass(frozen=True)
class BatchEvent:
    """One event of a placement's batch, validated; `creative_id` and `serve_id` come from its verified token."""

    id: str
    kind: str
    token: str
    occurred_at: datetime
    creative_id: int
    serve_id: str
    user_agent: str = ""
    ip: str | None = None
    segment: str = ""  # from the token, so not part of what was reported (nor of the body hash)

    def body_hash(self) -> str:
        """sha256 of what was reported: the same event sent again hashes the same, however its JSON was laid out."""
        body = {
            "id": self.id,
            "kind": self.kind,
            "token": self.token,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "user_agent": self.user_agent,
            "ip": self.ip,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


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
    once, reported as "replay". New events are flagged by the rules the tracking endpoints
    apply (crawler and empty user agents are invalid; a click within CLICK_DEDUPE_WINDOW of a
    counted click on the same impression is a duplicate) and, as a batch carries each viewer's
    address, one more: past TRACKING_BURST_EVENTS_PER_MINUTE events from one address within
    BURST_WINDOW seconds the rest are invalid ("burst"). Events older than the hours the
    periodic rollup refresh covers get their hours rebuilt after commit.

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
    if inserted is None:  # some ids were stored before: look them up first, and store the rest
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

    Saves `_ingest_with_stored`'s lookup of every id before the insert: the insert itself says
    whether each id was new. The flags are those the careful path gives, as no event was stored.
    """
    rows = _new_rows(placement, keyed, skip=set())
    _flag_duplicates_and_bursts(rows)
    try:
        with transaction.atomic():
            inserted = _events_insert(rows)
            if len(inserted) != len(rows):
                raise _SomeStoredBefore  # rolls the insert back
            _late_rollups_rebuild(rows)
    except _SomeStoredBefore:
        return None
    return inserted


def _ingest_with_stored(
    placement: Placement, keyed: list[tuple[str, str, BatchEvent]], body_of: dict[str, str]
) -> set[str]:
    """Store the events of a batch whose ids are not stored yet; ConflictError (nothing stored) when a
    stored id has another body. The stored ones are left out before the new ones are flagged, so a
    replay does not count twice towards a burst."""
    stored = _stored_body_hashes(body_of)
    conflicts = _stored_conflicts(keyed, stored)
    if conflicts:
        raise _batch_conflict(keyed, conflicts)
    rows = _new_rows(placement, keyed, skip=set(stored))
    if not rows:
        return set()
    _flag_duplicates_and_bursts(rows)
    with transaction.atomic():
        inserted = _events_insert(rows)
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


def _new_rows(placement: Placement, keyed: list[tuple[str, str, BatchEvent]], *, skip: set[str]) -> list[_NewEvent]:
    """A row per id of the batch (its first occurrence) not in `skip`, not yet flagged."""
    rows, seen = [], set(skip)
    for event_id, body_hash, event in keyed:
        if event_id in seen:
            continue
        seen.add(event_id)
        rows.append(
            _NewEvent(
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
                invalid_reason=invalid_traffic_reason(event.user_agent),
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


def _flag_duplicates_and_bursts(rows: list[_NewEvent]) -> None:
    """Set `duplicate` and the burst `invalid_reason` on new events, in the order they happened.

    Each event is judged against stored events and the batch's earlier ones, so two clicks on
    one impression in one batch count once, as they would arriving one by one.
    """
    earliest, latest = min(r.occurred_at for r in rows), max(r.occurred_at for r in rows)
    dedupe = timedelta(seconds=CLICK_DEDUPE_WINDOW)
    counted_clicks: dict[str, list[datetime]] = defaultdict(list)
    for serve_id, at in Event.objects.filter(
        kind=Event.Kind.CLICK,
        duplicate=False,
        serve_id__in={r.serve_id for r in rows if r.kind == Event.Kind.CLICK},
        occurred_at__range=(earliest - dedupe, latest + dedupe),
    ).values_list("serve_id", "occurred_at"):
        counted_clicks[serve_id].append(at)
    burst = timedelta(seconds=BURST_WINDOW)
    burst_limit = getattr(settings, "TRACKING_BURST_EVENTS_PER_MINUTE", 120)
    times_by_ip = _stored_times_by_ip({r.ip for r in rows if r.ip}, earliest - burst, latest)

    for row in sorted(rows, key=lambda r: r.occurred_at):  # a stable sort: ties keep the batch's order
        if row.kind == Event.Kind.CLICK:
            clicks = counted_clicks[row.serve_id]
            row.duplicate = any(abs(row.occurred_at - at) <= dedupe for at in clicks)
            if not row.duplicate:
                clicks.append(row.occurred_at)
        if row.ip:
            times = times_by_ip[row.ip]
            bisect.insort(times, row.occurred_at)
            in_window = bisect.bisect_right(times, row.occurred_at) - bisect.bisect_right(
                times, row.occurred_at - burst
            )
            if in_window > burst_limit and not row.invalid_reason:
                row.invalid_reason = "burst"


def _stored_times_by_ip(ips: set[str], after: datetime, until: datetime) -> defaultdict[str, list[datetime]]:
    """address -> the times of its stored events in (after, until], in order."""
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
        with connection.cursor() as cursor:
            cursor.execute(sql, [json.dumps(list(ips)), after, until])  # one JSON parameter: see _stored_body_hashes
            stored = cursor.fetchall()
    else:
        stored = Event.objects.filter(ip__in=ips, occurred_at__gt=after, occurred_at__lte=until).values_list(
            "ip", "occurred_at"
        )
    times_by_ip: defaultdict[str, list[datetime]] = defaultdict(list)
    for ip, at in stored:
        times_by_ip[str(ip)].append(at)
    for times in times_by_ip.values():
        times.sort()
    return times_by_ip


def _late_rollups_rebuild(rows: list[_NewEvent]) -> None:
    """Queue a rebuild reaching back to the oldest event when it lies before the previous hour.

    The periodic refresh rebuilds only the last few hours (at least this one and the last);
    a batch may report events up to TOKEN_MAX_AGE old, which would otherwise never be counted.
    """
    from .tasks import rollups_refresh  # tasks import this module

    now = timezone.now()
    earliest = min(r.occurred_at for r in rows)
    if earliest < now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1):
        rollups_refresh.delay_on_commit(hours=math.ceil((now - earliest) / timedelta(hours=1)) + 1)
