"""Event tracking: validate a signed tracking token, then record the event once.

Tokens are the ones serving handed out (django.core.signing, salt campaigns.tracking), so a
forged or edited token is refused before anything is stored, and a click always goes to the
landing URL stored for the campaign, never to one taken from the request.

A token stands for one serve: whatever path its events arrive by (pixel, click, batch,
postback) and under whatever event ids, the serve counts at most one impression, one click and
one conversion (the `event_net_per_serve` constraint settles it). Everything else that passes
validation is stored too, flagged so the rollups leave it out: `duplicate` (its serve already
counts one of its kind) or an `invalid_reason` (Event.Reason: bot, empty_user_agent,
revoked_key, out_of_window, burst, no_click). See docs/tracking.md.
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
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from campaigns.models import Creative, Placement, validate_landing_url
from campaigns.serving import serving_lookup, tracking_token_open
from creativeadmin.errors import ConflictError, PayloadTooLarge

from .errors import TrackingRejected
from .models import NET, Event

TOKEN_MAX_AGE = 24 * 3600  # a token's lifetime: its events lie within it (less TOKEN_CLOCK_SKEW)
# Seconds an event may seem to precede its token's issue: the serving host signed the token by its
# clock, the event's time comes from ours (pixel) or the reporting server's (batch).
TOKEN_CLOCK_SKEW = 300
BATCH_MAX_EVENTS = 1000
EVENT_MAX_AHEAD = 3600  # seconds an event's time may lie ahead of ours (clock skew), no more
BURST_WINDOW = 60  # seconds; more than TRACKING_BURST_EVENTS_PER_MINUTE events of one key in it is a burst
RACE_ATTEMPTS = 3  # a batch that met a concurrent one's rows (a serve's counted event, a deadlock) is tried again


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


@dataclass(frozen=True, slots=True)
class TrackingToken:
    """What a verified tracking token says: the serve it stands for."""

    creative_id: int
    placement_id: int
    serve_id: str
    segment: str
    issued_at: datetime  # when serving signed it (whole seconds)


def _token_read(token: str, kind: str) -> TrackingToken:
    try:
        payload, signed_at = tracking_token_open(token, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise TrackingRejected("This tracking link has expired.", code="expired_token") from exc
    except signing.BadSignature as exc:
        raise TrackingRejected("This tracking link is not valid.") from exc
    if payload.get("e") != kind:
        raise TrackingRejected(f"This is not a {kind} link.")
    return TrackingToken(
        creative_id=payload["c"],
        placement_id=payload["p"],
        serve_id=payload["s"],
        segment=payload.get("g", ""),
        issued_at=datetime.fromtimestamp(signed_at, UTC),
    )


def tracking_token_read(*, token: str, kind: str, placement: Placement) -> TrackingToken:
    """What a tracking token served to `placement` says.

    Raises TrackingRejected for a forged, edited or expired token, one of another kind, or one
    that serving handed to another placement.
    """
    read = _token_read(token, kind)
    if read.placement_id != placement.pk:
        raise TrackingRejected("This token was served to another placement.", code="other_placement")
    return read


_CLOCK_SKEW, _LIFETIME = timedelta(seconds=TOKEN_CLOCK_SKEW), timedelta(seconds=TOKEN_MAX_AGE)


def token_time_reason(*, occurred_at: datetime, issued_at: datetime, revoked_before: datetime | None) -> str:
    """'' when an event at `occurred_at` may count for a token issued at `issued_at`, else why not.

    revoked_key: the token was served before its placement's key was revoked (`revoked_before`;
    compared in whole seconds, as the token's time is: a token of the revocation's own second
    counts). out_of_window: the event lies before the token's issue, less TOKEN_CLOCK_SKEW, or
    after its expiry, TOKEN_MAX_AGE after issue.
    """
    if revoked_before is not None and issued_at < revoked_before.replace(microsecond=0):
        return Event.Reason.REVOKED_KEY
    if not issued_at - _CLOCK_SKEW <= occurred_at <= issued_at + _LIFETIME:
        return Event.Reason.OUT_OF_WINDOW
    return ""


@dataclass(frozen=True)
class EventRecorded:
    event_id: str
    stored: bool  # False for a replay of a token already stored
    landing_url: str  # the campaign's stored landing page, where a click goes


@dataclass(frozen=True)
class _TrackedCreative:
    landing_url: str  # "" when the campaign has none a click can be redirected to


def _tracked_creative(creative_id: int) -> _TrackedCreative | None:
    """The creative a token names (None once deleted), looked up once per serving version per process.

    Serving's lookup cache: deleting a creative or editing a campaign announces a new serving
    version (campaigns' model signals), so a process drops what it looked up within 0.25 s; an
    event for a creative deleted in between fails its foreign key and is refused all the same.
    """

    def lookup() -> _TrackedCreative | None:
        row = Creative.objects.filter(pk=creative_id).values_list("campaign__landing_url").first()
        return None if row is None else _TrackedCreative(landing_url=_redirectable(row[0]))

    return serving_lookup(("tracking-creative", creative_id), lookup)


def _redirectable(url: str) -> str:
    """`url` if a click may be sent there (what the campaign's landing URL field accepts), else ''."""
    try:
        validate_landing_url(url)
    except ValidationError:
        return ""
    return url


def _tokens_revoked_before(placement_id: int) -> datetime | None:
    """When the placement's key was last revoked (its earlier tokens count nothing), per serving version."""
    return serving_lookup(
        ("tracking-placement", placement_id),
        lambda: Placement.objects.filter(pk=placement_id).values_list("tokens_revoked_before", flat=True).first(),
    )


def event_record(*, token: str, kind: str, user_agent: str = "", ip: str | None = None) -> EventRecorded:
    """Store the event for a signed token once: one insert (a replayed token stores nothing).

    The insert itself checks whether the serve already counts an event of this kind (then this
    one is stored as a duplicate); the creative and the placement's revocation come from
    serving's lookup cache, so an impression or a click costs no other query. Raises
    TrackingRejected for a bad token, a creative that no longer exists, or a click on a campaign
    without a landing page (nothing is stored then).
    """
    read = _token_read(token, kind)
    creative = _tracked_creative(read.creative_id)
    if creative is None:
        raise TrackingRejected("The creative of this link no longer exists.", code="unknown_creative")
    if kind == Event.Kind.CLICK and not creative.landing_url:
        raise TrackingRejected("This campaign has no landing page.", code="no_landing_url")
    now = timezone.now()
    event_id = hashlib.sha256(token.encode()).hexdigest()
    row = _NewEvent(
        event_id=event_id,
        kind=kind,
        creative_id=read.creative_id,
        placement_id=read.placement_id,
        serve_id=read.serve_id,
        segment=read.segment,
        occurred_at=now,
        user_agent=user_agent[:400],
        ip=ip,
        invalid_reason=invalid_traffic_reason(user_agent)
        or token_time_reason(
            occurred_at=now, issued_at=read.issued_at, revoked_before=_tokens_revoked_before(read.placement_id)
        ),
    )
    attempts = 1 if connection.in_atomic_block else 2  # inside a transaction a failed statement ends it
    for attempt in range(attempts):
        try:
            stored = _on_a_live_connection(lambda: _event_insert_one(row))
            break
        except IntegrityError as exc:
            # Another request stored this serve's counted event between the insert's check and its
            # write (the constraint refused this one as a second): once more, it is a duplicate. Or
            # the creative or placement was deleted since the lookup: then this fails again.
            if attempt == attempts - 1:
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


# NET (analytics.models) as SQL over the events table, for the statements written out here.
_NET_SQL = "NOT {t}.duplicate AND {t}.invalid_reason = ''"


def _event_insert_one(row: _NewEvent) -> set[str]:
    """Insert one event unless its id is stored; {its id} if this call stored it, else set().

    `duplicate` is decided by the statement itself: true when the event would otherwise count
    and its serve already counts one of its kind. So a pixel or a click stays one round trip.
    Two requests racing for one serve can both see none counted; the `event_net_per_serve`
    constraint then refuses the second (IntegrityError), which its caller stores once more.
    """
    ops = connection.ops
    values = [
        row.event_id, row.kind, row.creative_id, row.placement_id, row.serve_id, row.segment,
        ops.adapt_datetimefield_value(row.occurred_at), row.user_agent, row.ip or None,
        row.invalid_reason, row.serve_id, row.kind, row.invalid_reason, row.body_hash,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_insert_one_sql(connection.vendor), values)
        return {r[0] for r in cursor.fetchall()}


@functools.cache
def _insert_one_sql(vendor: str) -> str:
    ops = connection.ops
    table = ops.quote_name(Event._meta.db_table)
    columns = [ops.quote_name(Event._meta.get_field(name).column) for name in _INSERTED_FIELDS]
    counted = _NET_SQL.format(t="e")
    duplicate = f"(%s = '' AND EXISTS (SELECT 1 FROM {table} AS e WHERE e.serve_id = %s AND e.kind = %s AND {counted}))"
    values = ["%s"] * len(columns)
    values[_INSERTED_FIELDS.index("duplicate")] = duplicate
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(values)})"
        f" ON CONFLICT ({columns[0]}) DO NOTHING RETURNING {columns[0]}"
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
    once); with a different click it is a conflict. A new order is stored, and counts only on
    a click its serve counts (else `no_click`: report the click first) and as the first order on
    that click (later ones are duplicates: the conversion rate is a share of clicks); a token
    served before a key revocation or an order outside the token's lifetime counts nothing either.
    """
    from creativeadmin.errors import ConflictError, NotFoundError

    read = _token_read(click_token, "click")
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
            inserted = _events_insert(rows)
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
    """A row per id of the batch (its first occurrence) not in `skip`, flagged but for bursts and duplicates."""
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


def _flag_duplicates_and_bursts(rows: list[_NewEvent], counted: set[tuple[str, str]] | None = None) -> None:
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


def _stored_burst_times(rows: list[_NewEvent], after: datetime, until: datetime) -> defaultdict[tuple, list[datetime]]:
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


def _counted_serves(rows: list[_NewEvent]) -> set[tuple[str, str]]:
    """The (serve id, kind) pairs of the rows' serves that stored events already count (whenever they
    happened), through the `event_net_per_serve` index."""
    serves = sorted({r.serve_id for r in rows})
    if connection.vendor != "postgresql":
        return set(Event.objects.filter(NET, serve_id__in=serves).values_list("serve_id", "kind").order_by())
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.serve_id, e.kind FROM {table} AS e WHERE e.serve_id IN"
            f" (SELECT json_array_elements_text(%s::json)) AND {_NET_SQL.format(t='e')}",
            [json.dumps(serves)],  # one JSON parameter: see _stored_body_hashes
        )
        return set(cursor.fetchall())


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
