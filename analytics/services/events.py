"""The event store: events inserted by raw SQL, once per event id, with the serve's one counted event
of each kind settled by the database (the `event_net_per_serve` constraint). Shared by tracking,
batch ingestion and conversions; see docs/tracking.md."""

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from ..models import Event

RACE_ATTEMPTS = 3  # a batch that met a concurrent one's rows (a serve's counted event, a deadlock) is tried again


def on_a_live_connection(operation):
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
class NewEvent:
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


def events_insert(rows: Sequence[NewEvent]) -> set[str]:
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
    """The statement `events_insert` runs: `rows` rows of parameters, or "json" for one JSON array of rows."""
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
NET_SQL = "NOT {t}.duplicate AND {t}.invalid_reason = ''"


def event_insert_one(row: NewEvent) -> set[str]:
    """Insert one event unless its id is stored; {its id} if this call stored it, else set().

    `duplicate` is decided by the statement itself: true when the event would otherwise count
    and its serve already counts one of its kind. So a pixel or a click stays one round trip.
    Two requests racing for one serve can both see none counted; the `event_net_per_serve`
    constraint then refuses the second (IntegrityError), which its caller stores once more.

    With TRACKING_ASYNC_COMMIT on PostgreSQL the statement's own transaction commits without
    waiting for its WAL to reach the disk (`synchronous_commit` off for that transaction only):
    the flush took 0.4-3.6 ms a pixel, longer than the rest of the request. What that gives up
    is bounded: a web process or worker killed loses nothing (the commit is in the server's
    WAL buffers); only a crash of PostgreSQL or its host can lose the events acknowledged in
    the last ~0.6 s (three `wal_writer_delay`s), and the database stays consistent.
    """
    ops = connection.ops
    values = [
        row.event_id, row.kind, row.creative_id, row.placement_id, row.serve_id, row.segment,
        ops.adapt_datetimefield_value(row.occurred_at), row.user_agent, row.ip or None,
        row.invalid_reason, row.serve_id, row.kind, row.invalid_reason, row.body_hash,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_insert_one_sql(connection.vendor, settings.TRACKING_ASYNC_COMMIT), values)
        return {r[0] for r in cursor.fetchall()}


@functools.cache
def _insert_one_sql(vendor: str, async_commit: bool) -> str:
    ops = connection.ops
    table = ops.quote_name(Event._meta.db_table)
    columns = [ops.quote_name(Event._meta.get_field(name).column) for name in _INSERTED_FIELDS]
    counted = NET_SQL.format(t="e")
    duplicate = f"(%s = '' AND EXISTS (SELECT 1 FROM {table} AS e WHERE e.serve_id = %s AND e.kind = %s AND {counted}))"
    values = ["%s"] * len(columns)
    values[_INSERTED_FIELDS.index("duplicate")] = duplicate
    if vendor == "postgresql" and async_commit:
        # set_config(..., is_local => true) lasts until the end of the statement's transaction, and
        # the commit reads it before the transaction's settings are reset: no extra round trip.
        no_flush = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
        source = f"SELECT {', '.join(values)} FROM {no_flush}"
    else:
        source = f"VALUES ({', '.join(values)})"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) {source}"
        f" ON CONFLICT ({columns[0]}) DO NOTHING RETURNING {columns[0]}"
    )
