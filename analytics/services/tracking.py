"""Event tracking: validate a signed tracking token, then record the event once.

Tokens are the ones serving handed out (django.core.signing, salt campaigns.tracking), so a
forged or edited token is refused before anything is stored, and a click always goes to the
landing URL stored for the campaign, never to one taken from the request.

A token stands for one serve: whatever path its events arrive by (pixel, click, batch,
postback) and under whatever event ids, the serve counts at most one impression, one click and
one conversion (the `event_net_per_serve` constraint settles it). Everything else that passes
validation is stored too, flagged so the rollups leave it out: `duplicate` (its serve already
counts one of its kind) or an `invalid_reason` (Event.Reason: bot, empty_user_agent,
revoked_key, out_of_window, burst, no_click). See docs/tracking.md."""

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.utils import timezone

from campaigns.models import Creative, Placement, validate_landing_url
from campaigns.serving import serving_lookup, tracking_token_open

from ..errors import TrackingRejected
from ..models import Event
from .events import NewEvent, event_insert_one, on_a_live_connection

TOKEN_MAX_AGE = 24 * 3600  # a token's lifetime: its events lie within it (less TOKEN_CLOCK_SKEW)
# Seconds an event may seem to precede its token's issue: the serving host signed the token by its
# clock, the event's time comes from ours (pixel) or the reporting server's (batch).
TOKEN_CLOCK_SKEW = 300


@functools.lru_cache(maxsize=1)
def _bot_markers() -> tuple[str, ...]:
    path = Path(__file__).resolve().parents[1] / "data" / "bot_user_agents.txt"
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


def token_read(token: str, kind: str) -> TrackingToken:
    try:
        payload, signed_at = tracking_token_open(token, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise TrackingRejected("This tracking link has expired.", code="expired_token") from exc
    except signing.BadSignature as exc:
        raise TrackingRejected("This tracking link is not valid.") from exc
    if payload.get("e") != kind:
        raise TrackingRejected(f"This is not {'an' if kind[:1] in 'aeiou' else 'a'} {kind} link.")
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
    read = token_read(token, kind)
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


# VAST's playback events as the player names them in its tracking URLs, and the kinds they are stored as.
VIDEO_EVENT_KINDS = {
    "start": Event.Kind.VIDEO_START,
    "firstQuartile": Event.Kind.VIDEO_FIRST_QUARTILE,
    "midpoint": Event.Kind.VIDEO_MIDPOINT,
    "thirdQuartile": Event.Kind.VIDEO_THIRD_QUARTILE,
    "complete": Event.Kind.VIDEO_COMPLETE,
    "error": Event.Kind.VIDEO_ERROR,
}
_VIDEO_KINDS = frozenset(VIDEO_EVENT_KINDS.values())


def event_record(*, token: str, kind: str, user_agent: str = "", ip: str | None = None) -> EventRecorded:
    """Store the event for a signed token once: one insert (a replayed token stores nothing).

    The insert itself checks whether the serve already counts an event of this kind (then this
    one is stored as a duplicate); the creative and the placement's revocation come from
    serving's lookup cache, so an impression or a click costs no other query. Raises
    TrackingRejected for a bad token, a creative that no longer exists, or a click on a campaign
    without a landing page (nothing is stored then).
    """
    video = kind in _VIDEO_KINDS
    read = token_read(token, "video" if video else kind)
    creative = _tracked_creative(read.creative_id)
    if creative is None:
        raise TrackingRejected("The creative of this link no longer exists.", code="unknown_creative")
    if kind == Event.Kind.CLICK and not creative.landing_url:
        raise TrackingRejected("This campaign has no landing page.", code="no_landing_url")
    now = timezone.now()
    # One video token stands for all of a serve's playback events: the kind is part of each one's id.
    event_id = hashlib.sha256(f"{kind}:{token}".encode() if video else token.encode()).hexdigest()
    row = NewEvent(
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
            stored = on_a_live_connection(lambda: event_insert_one(row))
            break
        except IntegrityError as exc:
            # Another request stored this serve's counted event between the insert's check and its
            # write (the constraint refused this one as a second): once more, it is a duplicate. Or
            # the creative or placement was deleted since the lookup: then this fails again.
            if attempt == attempts - 1:
                raise TrackingRejected("The creative of this link no longer exists.", code="unknown_creative") from exc
    return EventRecorded(event_id=event_id, stored=bool(stored), landing_url=creative.landing_url)
