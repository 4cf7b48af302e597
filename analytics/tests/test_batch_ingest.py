"""The event batch endpoint: all or nothing, each id counted once, invalid traffic stored but not counted."""

import json
import time
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.models import Event, HourlyRollup
from analytics.services import rollups_build
from campaigns.models import Placement
from campaigns.serving import placement_key_issue, serve_creative

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
URL = "/api/v1/events/batch"


def _post(client, key, body):
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(URL, raw, content_type="application/json", HTTP_X_PLACEMENT_KEY=key)


def _serve(served, *, placement=None, seconds_ago=0, monkeypatch=None):
    """A new serve of the fixture's creative (its own impression), signed `seconds_ago` when asked."""
    placement = placement or served.creative.campaign.placements.get(name="feed")
    if not seconds_ago:
        return serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250))
    signed_at = time.time() - seconds_ago
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: signed_at)
        return serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250))


def _event(token, id, *, kind="impression", at=None, user_agent=BROWSER, ip="203.0.113.7"):
    return {
        "id": id,
        "kind": kind,
        "token": token,
        "occurred_at": (at or timezone.now()).isoformat(),
        "user_agent": user_agent,
        "ip": ip,
    }


def _impressions(served, n, *, prefix="imp", **fields):
    return [_event(_serve(served).impression_token, f"{prefix}-{i}", **fields) for i in range(n)]


def _net_and_gross(kind):
    start = timezone.now() - timedelta(days=2)
    rollups_build(start=start, end=timezone.now() + timedelta(hours=2))
    totals = HourlyRollup.objects.aggregate(net=Sum(f"{kind}s"), gross=Sum(f"{kind}s_gross"))
    return totals["net"], totals["gross"]


def test_a_batch_is_stored_and_each_event_reported_in_order(client, served, placement_key):
    events = _impressions(served, 10)

    response = _post(client, placement_key, {"events": events})

    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["replayed"]) == (10, 0)
    assert [r["id"] for r in body["results"]] == [e["id"] for e in events]
    assert {r["status"] for r in body["results"]} == {"stored"}
    assert Event.objects.filter(kind="impression", placement__name="feed", invalid_reason="").count() == 10


def test_more_than_1000_events_is_413_and_stores_nothing(client, served, placement_key):
    token = served.impression_token
    events = [_event(token, f"e-{i}") for i in range(1001)]

    response = _post(client, placement_key, {"events": events})

    assert response.status_code == 413
    assert response.json() == {
        "message": "At most 1000 events per request; this one has 1001.",
        "code": "too_many_events",
        "extra": {"max_events": 1000},
    }
    assert not Event.objects.exists()


def test_a_body_over_the_byte_limit_is_413_and_stores_nothing(client, served, placement_key):
    events = [_event(served.impression_token, "big", user_agent="x" * (5 * 1024 * 1024))]

    response = _post(client, placement_key, {"events": events})

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not Event.objects.exists()


def _forged(e, served, monkeypatch):
    return {**e, "token": e["token"][:-4] + "abcd"}


def _expired(e, served, monkeypatch):
    return {**e, "token": _serve(served, seconds_ago=25 * 3600, monkeypatch=monkeypatch).impression_token}


def _other_placements(e, served, monkeypatch):
    other = Placement.objects.create(name="search", channel="search", sizes=[[300, 250]])
    served.creative.campaign.placements.add(other)
    return {**e, "token": _serve(served, placement=other).impression_token}


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda e, *_: {k: v for k, v in e.items() if k != "id"}, id="missing-id"),
        pytest.param(lambda e, *_: {k: v for k, v in e.items() if k != "token"}, id="missing-token"),
        pytest.param(lambda e, *_: {**e, "kind": "view"}, id="unknown-kind"),
        pytest.param(lambda e, *_: {**e, "kind": "conversion"}, id="conversion-kind"),
        pytest.param(lambda e, *_: {**e, "kind": "click"}, id="impression-token-as-click"),
        pytest.param(_forged, id="forged-token"),
        pytest.param(_expired, id="expired-token"),
        pytest.param(_other_placements, id="another-placements-token"),
        pytest.param(
            lambda e, *_: {**e, "occurred_at": (timezone.now() + timedelta(hours=2)).isoformat()}, id="future"
        ),
        pytest.param(lambda e, *_: {**e, "occurred_at": (timezone.now() - timedelta(hours=25)).isoformat()}, id="old"),
        pytest.param(lambda e, *_: {**e, "occurred_at": "2026-11-24T12:00:00"}, id="no-utc-offset"),
        pytest.param(lambda e, *_: {**e, "ip": "not-an-address"}, id="bad-ip"),
        pytest.param(lambda e, *_: "not an object", id="not-an-object"),
    ],
)
def test_one_bad_event_among_ten_is_named_by_index_and_nothing_is_stored(
    client, served, placement_key, monkeypatch, spoil
):
    events = _impressions(served, 10)
    events[3] = spoil(events[3], served, monkeypatch)

    response = _post(client, placement_key, {"events": events})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["extra"]["fields"]["events"]) == ["3"]
    assert not Event.objects.exists()


def test_an_event_whose_creative_was_deleted_is_named_and_nothing_is_stored(client, served, placement_key):
    events = _impressions(served, 10)
    served.creative.delete()

    response = _post(client, placement_key, {"events": events})

    assert response.status_code == 400
    assert sorted(response.json()["extra"]["fields"]["events"], key=int) == [str(i) for i in range(10)]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"events": [', id="truncated-json"),
        pytest.param(b'{"events": [{"id": "\xff\xfe"}]}', id="not-utf8"),
        pytest.param(b'{"events": NaN}', id="nan"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b'{"events": []}', id="no-events"),
    ],
)
def test_a_malformed_body_is_400_and_stores_nothing(client, served, placement_key, body):
    response = _post(client, placement_key, body)

    assert response.status_code == 400
    assert set(response.json()) == {"message", "code", "extra"}
    assert not Event.objects.exists()


def test_a_replayed_batch_gets_the_same_status_and_is_counted_once(client, served, placement_key):
    events = _impressions(served, 3)
    first = _post(client, placement_key, {"events": events})

    # The same events again, their keys in another order: the same bodies.
    replay = _post(client, placement_key, {"events": [dict(reversed(e.items())) for e in events]})

    assert first.status_code == replay.status_code == 200
    assert (replay.json()["stored"], replay.json()["replayed"]) == (0, 3)
    assert {r["status"] for r in replay.json()["results"]} == {"replay"}
    assert Event.objects.count() == 3


def test_the_same_id_with_another_body_is_409_and_nothing_of_that_batch_is_stored(client, served, placement_key):
    first = _impressions(served, 1, prefix="a")[0]
    _post(client, placement_key, {"events": [first]})
    fresh = _impressions(served, 1, prefix="b")[0]

    response = _post(client, placement_key, {"events": [fresh, {**first, "user_agent": BROWSER + " edited"}]})

    assert response.status_code == 409
    assert response.json()["code"] == "event_conflict"
    assert response.json()["extra"] == {"events": {"1": first["id"]}}
    assert list(Event.objects.values_list("user_agent", flat=True)) == [BROWSER]


def test_the_same_id_twice_in_one_batch_with_different_bodies_is_409(client, served, placement_key):
    event = _impressions(served, 1)[0]

    response = _post(client, placement_key, {"events": [event, {**event, "ip": "198.51.100.1"}]})

    assert response.status_code == 409
    assert not Event.objects.exists()


def test_a_concurrent_request_storing_an_id_with_another_body_makes_the_batch_409(
    client, served, placement_key, monkeypatch
):
    import analytics.services.ingestion

    events = _impressions(served, 3)
    flag = analytics.services.ingestion._flag_duplicates_and_bursts

    def and_meanwhile(rows):  # another request stores the second id, with another body, just before the insert
        flag(rows)
        theirs = rows[1]
        Event.objects.create(
            event_id=theirs.event_id,
            kind=theirs.kind,
            creative_id=theirs.creative_id,
            placement_id=theirs.placement_id,
            serve_id=theirs.serve_id,
            occurred_at=theirs.occurred_at,
            body_hash="other",
        )

    monkeypatch.setattr(analytics.services.ingestion, "_flag_duplicates_and_bursts", and_meanwhile)

    response = _post(client, placement_key, {"events": events})

    assert response.status_code == 409
    assert response.json()["extra"] == {"events": {"1": events[1]["id"]}}
    assert list(Event.objects.values_list("body_hash", flat=True)) == ["other"]


def test_the_same_id_from_another_placement_is_another_event(client, served, placement_key):
    other = Placement.objects.create(name="search", channel="search", sizes=[[300, 250]])
    served.creative.campaign.placements.add(other)
    other_key = placement_key_issue(placement=other)

    ours = _post(client, placement_key, {"events": [_event(_serve(served).impression_token, "1")]})
    theirs = _post(client, other_key, {"events": [_event(_serve(served, placement=other).impression_token, "1")]})

    assert ours.json()["stored"] == theirs.json()["stored"] == 1
    assert Event.objects.count() == 2


def test_a_burst_from_one_address_is_stored_but_left_out_of_net_counts(
    client, served, placement_key, settings, monkeypatch
):
    settings.TRACKING_BURST_EVENTS_PER_MINUTE = 5
    start = timezone.now() - timedelta(minutes=5)

    def token():  # served before the events happened
        return _serve(served, seconds_ago=2 * 3600, monkeypatch=monkeypatch).impression_token

    burst = [_event(token(), f"b-{i}", at=start + timedelta(seconds=5 * i)) for i in range(7)]
    elsewhere = [_event(token(), f"o-{i}", ip="198.51.100.1", at=start) for i in range(2)]
    # The same address again, but spread out: 5 events a minute, never more.
    steady = [_event(token(), f"s-{i}", at=start - timedelta(hours=1, seconds=13 * i)) for i in range(10)]

    response = _post(client, placement_key, {"events": burst + elsewhere + steady})

    assert response.status_code == 200
    flagged = Event.objects.filter(invalid_reason="burst")
    assert sorted(flagged.values_list("ip", flat=True)) == ["203.0.113.7", "203.0.113.7"]
    assert _net_and_gross("impression") == (17, 19)


def test_a_burst_counts_events_already_stored_from_the_address(client, served, placement_key, settings):
    settings.TRACKING_BURST_EVENTS_PER_MINUTE = 5
    at = timezone.now() - timedelta(seconds=30)
    _post(client, placement_key, {"events": _impressions(served, 5, prefix="early", at=at)})

    _post(client, placement_key, {"events": _impressions(served, 1, prefix="late", at=at + timedelta(seconds=10))})

    assert Event.objects.get(invalid_reason="burst").user_agent == BROWSER
    assert _net_and_gross("impression") == (5, 6)


def test_a_replay_sent_with_new_events_does_not_count_twice_towards_a_burst(client, served, placement_key, settings):
    """The limit is 3 a minute: 2 stored, then one of them again with 1 new one makes 3 events, not 4."""
    settings.TRACKING_BURST_EVENTS_PER_MINUTE = 3
    at = timezone.now() - timedelta(seconds=30)
    first = _impressions(served, 2, prefix="early", at=at)
    _post(client, placement_key, {"events": first})

    response = _post(
        client,
        placement_key,
        {"events": [first[0], *_impressions(served, 1, prefix="late", at=at + timedelta(seconds=5))]},
    )

    assert [r["status"] for r in response.json()["results"]] == ["replay", "stored"]
    assert not Event.objects.filter(invalid_reason="burst").exists()
    assert _net_and_gross("impression") == (3, 3)


def test_two_clicks_on_one_impression_in_one_batch_count_once(client, served, placement_key, monkeypatch):
    serve = _serve(served, seconds_ago=3600, monkeypatch=monkeypatch)
    at = timezone.now() - timedelta(minutes=10)
    clicks = [
        _event(serve.click_token, "click-2", kind="click", at=at + timedelta(minutes=1)),
        _event(serve.click_token, "click-1", kind="click", at=at),
    ]

    response = _post(client, placement_key, {"events": clicks})

    assert response.json()["stored"] == 2
    assert dict(Event.objects.values_list("occurred_at", "duplicate")) == {
        at: False,  # the one that happened first is the counted one
        at + timedelta(minutes=1): True,
    }
    assert _net_and_gross("click") == (1, 2)


def test_a_batch_click_after_a_counted_pixel_click_on_the_same_impression_is_a_duplicate(client, served, placement_key):
    client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)

    _post(client, placement_key, {"events": [_event(served.click_token, "c1", kind="click")]})

    assert sorted(Event.objects.values_list("duplicate", flat=True)) == [False, True]
    assert _net_and_gross("click") == (1, 2)


def test_clicks_on_one_impression_hours_apart_count_once(client, served, placement_key, monkeypatch):
    serve = _serve(served, seconds_ago=3 * 3600, monkeypatch=monkeypatch)
    at = timezone.now() - timedelta(hours=2)
    clicks = [
        _event(serve.click_token, "c1", kind="click", at=at),
        _event(serve.click_token, "c2", kind="click", at=at + timedelta(minutes=31)),
    ]

    _post(client, placement_key, {"events": clicks})

    assert sorted(Event.objects.values_list("occurred_at", "duplicate")) == [
        (at, False),
        (at + timedelta(minutes=31), True),
    ]


@pytest.mark.parametrize(
    ("user_agent", "reason"), [("Googlebot/2.1", "bot"), ("python-requests/2.32", "bot"), ("", "empty_user_agent")]
)
def test_crawler_and_empty_user_agents_in_a_batch_are_stored_but_not_counted(
    client, served, placement_key, user_agent, reason
):
    events = _impressions(served, 1, prefix="ok") + _impressions(served, 1, prefix="bad", user_agent=user_agent)

    _post(client, placement_key, {"events": events})

    assert Event.objects.get(invalid_reason=reason).user_agent == user_agent
    assert _net_and_gross("impression") == (1, 2)


def test_events_reported_hours_late_reach_the_rollups_of_their_hour(
    client, served, placement_key, monkeypatch, django_capture_on_commit_callbacks
):
    at = timezone.now() - timedelta(hours=6)
    serve = _serve(served, seconds_ago=6 * 3600 + 60, monkeypatch=monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, placement_key, {"events": [_event(serve.impression_token, "late", at=at)]})

    assert response.status_code == 200
    row = HourlyRollup.objects.get()
    assert (row.hour, row.impressions) == (at.replace(minute=0, second=0, microsecond=0), 1)


def test_a_batch_needs_the_placement_key(client, served):
    response = client.post(URL, json.dumps({"events": _impressions(served, 1)}), content_type="application/json")

    assert response.status_code == 401
    assert not Event.objects.exists()


def test_the_batch_endpoint_is_in_the_api_schema(client, operator):
    client.force_login(operator)

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/events/batch"]["post"]
    assert {"200", "400", "409", "413"} <= set(operation["responses"])
    assert operation["security"] == [{"placementAuthorization": []}, {"placementKey": []}]  # either header


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({}, id="usual"),
        pytest.param({"occurred_at": "OFFSET+08:00"}, id="utc-offset"),
        pytest.param({"occurred_at": "Z"}, id="zulu"),
        pytest.param({"ip": None}, id="no-ip"),
        pytest.param({"ip": "2001:DB8::1"}, id="ipv6-normalised"),
        pytest.param({"ip": " 203.0.113.9 "}, id="ip-with-spaces"),
        pytest.param({"user_agent": "  Mozilla/5.0  "}, id="user-agent-trimmed"),
        pytest.param({"user_agent": "Mozilla\t5.0"}, id="user-agent-with-tab"),
        pytest.param({"user_agent": ""}, id="empty-user-agent"),
        pytest.param({"id": 17}, id="numeric-id"),
        pytest.param({"id": " padded "}, id="padded-id"),
        pytest.param({"kind": "click"}, id="impression-token-as-click"),
        pytest.param({"ip": "010.1.1.1"}, id="leading-zero-ip"),
    ],
)
def test_the_quick_path_validates_an_event_as_the_serializer_does(served, placement_key, change):
    from rest_framework.exceptions import ValidationError

    from analytics.api.serializers import BatchEventSerializer, _batch_event_quick

    placement = served.creative.campaign.placements.get(name="feed")
    at = timezone.now().replace(microsecond=0)
    if change.get("occurred_at") == "OFFSET+08:00":
        change = {"occurred_at": at.astimezone(timezone.get_fixed_timezone(480)).isoformat()}
    elif change.get("occurred_at") == "Z":
        change = {"occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    event = {**_event(served.impression_token, "q"), **change}

    quick = _batch_event_quick(event, placement)
    try:
        expected = dict(BatchEventSerializer(context={"placement": placement}).run_validation(event))
    except ValidationError:
        expected = None

    assert quick is None or quick == expected  # it takes only what the serializer takes, as the serializer takes it
    if change in ({}, {"ip": None}, {"user_agent": ""}) or "occurred_at" in change:
        assert quick is not None  # the usual events do take the quick path


def test_an_event_of_a_serve_that_came_to_count_meanwhile_is_stored_as_a_duplicate(
    client, served, placement_key, monkeypatch
):
    """Another request counts an impression of the batch's serve between flagging and insert: the
    constraint refuses the insert, and the batch is stored again, its event a duplicate."""
    import analytics.services.ingestion

    events = _impressions(served, 2)
    flag = analytics.services.ingestion._flag_duplicates_and_bursts
    calls = []

    def and_meanwhile(rows, *args):
        flag(rows, *args)
        if not calls:  # once, before the first insert
            first = min(rows, key=lambda r: r.event_id)
            Event.objects.create(
                event_id="theirs", kind=first.kind, creative_id=first.creative_id, placement_id=first.placement_id,
                serve_id=first.serve_id, occurred_at=first.occurred_at,
            )  # fmt: skip
        calls.append(len(rows))

    monkeypatch.setattr(analytics.services.ingestion, "_flag_duplicates_and_bursts", and_meanwhile)

    response = _post(client, placement_key, {"events": events})

    assert response.status_code == 200 and response.json()["stored"] == 2
    assert calls == [2, 2]  # flagged again after the refused insert
    assert Event.objects.filter(duplicate=True).exclude(event_id="theirs").count() == 1
    assert _net_and_gross("impression") == (2, 3)


_texts = st.text(st.characters(codec="utf-8"), max_size=40)  # quotes, controls, CJK, emoji


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    event_id=_texts,
    token=_texts,
    user_agent=_texts,
    ip=st.none() | _texts,
    kind=st.sampled_from(("impression", "click")),
)
def test_an_events_body_hash_is_the_sha256_of_its_sorted_json(event_id, token, user_agent, ip, kind):
    """Stored body hashes are compared with every event sent again under its id, so the hash is
    `json.dumps(body, sort_keys=True)`'s, whatever the strings hold (quotes, controls, CJK, emoji)."""
    import hashlib
    from datetime import UTC, datetime
    from datetime import timezone as tz

    from analytics.services.ingestion import BatchEvent

    at = datetime(2026, 12, 5, 12, 0, 1, 250_000, tzinfo=tz(timedelta(hours=8)))
    event = BatchEvent(
        id=event_id, kind=kind, token=token, occurred_at=at, creative_id=1, serve_id="s", issued_at=at,
        user_agent=user_agent, ip=ip,
    )  # fmt: skip
    body = {
        "id": event_id, "kind": kind, "token": token, "occurred_at": at.astimezone(UTC).isoformat(),
        "user_agent": user_agent, "ip": ip,
    }  # fmt: skip

    assert event.body_hash() == hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
