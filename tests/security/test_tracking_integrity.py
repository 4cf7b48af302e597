"""Tracking integrity (issue 18, items 1 and 10): one served token counts once, however it is replayed.

Every event that passes validation is stored; the ones that must not count are stored flagged
(`duplicate`, or an `invalid_reason`: out_of_window, burst, no_click, revoked_key) and the
rollups, which the dashboards and serving read, count only the rest.
"""

import json
import os
import time
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from analytics.models import NET, Event, HourlyRollup
from analytics.services import rollups_build
from campaigns.models import AdCopySet, Campaign, Placement
from campaigns.serving import placement_key_issue, placement_key_revoke, serve_creative, tracking_token_payload
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
BATCH = "/api/v1/events/batch"
LANDING = "https://shop.example.com/winter"


@pytest.fixture
def world():
    """A live campaign's approved creative on a placement with a key."""
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]])
    key = placement_key_issue(placement=placement)
    version = TemplateVersion.objects.create(template=Template.objects.create(name="t"), number=1, spec={})
    campaign = Campaign.objects.create(
        name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), status=Campaign.Status.LIVE,
        landing_url=LANDING,
    )  # fmt: skip
    campaign.placements.add(placement)
    CreativeFactory(
        campaign=campaign,
        product_key="A",
        template_version=version,
        content_hash="h",
        aesthetic_score=80,
        stored_file=b"jpeg",
    )
    return SimpleNamespace(placement=placement, key=key, campaign=campaign)


def _serve(world, *, seconds_ago: float = 0):
    """One serve of the world's placement, its tokens signed `seconds_ago`."""
    placement = Placement.objects.get(pk=world.placement.pk)
    signed_at = time.time() - seconds_ago
    with mock.patch.object(time, "time", lambda: signed_at):
        return serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250))


def _event(id, kind, token, at, *, ip=None):
    event = {"id": id, "kind": kind, "token": token, "occurred_at": at.isoformat(), "user_agent": BROWSER}
    return event if ip is None else {**event, "ip": ip}


def _batch(client, key, events):
    return client.post(BATCH, json.dumps({"events": events}), content_type="application/json", HTTP_X_PLACEMENT_KEY=key)


def _postback(client, key, order_id, click_token):
    return client.post(
        "/api/v1/conversions", {"order_id": order_id, "click_token": click_token},
        content_type="application/json", HTTP_X_PLACEMENT_KEY=key,
    )  # fmt: skip


def _counted(kind: str) -> tuple[int, int]:
    """(net, gross) of `kind` in the hourly rollups, rebuilt over the last two days."""
    now = timezone.now()
    rollups_build(start=now - timedelta(days=2), end=now + timedelta(hours=2))
    totals = HourlyRollup.objects.aggregate(net=Sum(f"{kind}s"), gross=Sum(f"{kind}s_gross"))
    return totals["net"] or 0, totals["gross"] or 0


# --- A serve counts one impression and one click ------------------------------------------------------------


def test_one_serves_tokens_replayed_246_times_in_a_batch_count_one_impression_and_one_click(client, world):
    """The issue's reproduction: a serve's pixel and click, then one batch of 200 impressions and 46 clicks
    reusing its tokens under new ids, 31 minutes apart reaching back 23 h, without addresses. The batch is
    answered 200 and all of it stored, but the serve still counts one net impression and one net click."""
    served = _serve(world)
    assert client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER).status_code == 200
    assert client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER).status_code == 302
    now = timezone.now()
    events = [_event(f"i-{i}", "impression", served.impression_token, now - (i % 46) * timedelta(minutes=31))
              for i in range(200)]  # fmt: skip
    events += [_event(f"c-{i}", "click", served.click_token, now - i * timedelta(minutes=31)) for i in range(46)]

    response = _batch(client, world.key, events)

    assert response.status_code == 200 and response.json()["stored"] == 246
    assert Event.objects.count() == 248
    assert _counted("impression") == (1, 201)
    assert _counted("click") == (1, 47)


@pytest.mark.parametrize("pixel_first", [True, False], ids=["pixel-then-batch", "batch-then-pixel"])
def test_a_serve_counts_one_net_impression_whatever_the_path_and_the_event_id(client, world, pixel_first):
    """The pixel and any number of batch events under new ids, from different addresses, all for one
    serve: each is stored, one counts."""
    served = _serve(world)
    now = timezone.now()
    events = [_event(f"e-{i}", "impression", served.impression_token, now, ip=f"198.51.100.{i}") for i in range(3)]

    if pixel_first:
        client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER)
    _batch(client, world.key, events)
    if not pixel_first:
        client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER)

    assert _counted("impression") == (1, 4)


def test_an_impression_counts_at_most_one_net_click_however_far_apart_its_clicks_are(client, world):
    """Clicks on one serve 31 minutes and 2 hours after the first (outside any dedupe window) are stored
    as duplicates: one click counts per impression."""
    served = _serve(world, seconds_ago=3 * 3600)
    first = timezone.now() - timedelta(hours=2, minutes=50)
    events = [
        _event("c-0", "click", served.click_token, first, ip="198.51.100.1"),
        _event("c-1", "click", served.click_token, first + timedelta(minutes=31), ip="198.51.100.2"),
        _event("c-2", "click", served.click_token, first + timedelta(hours=2), ip="198.51.100.3"),
    ]

    _batch(client, world.key, events)
    client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)

    assert _counted("click") == (1, 4)
    assert Event.objects.get(kind="click", duplicate=False).occurred_at == first


# --- An event lies within its token's lifetime ------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed_ago", "happened_ago", "counted"),
    [
        pytest.param(3600, 23 * 3600, False, id="23h-before-the-token-was-issued"),
        pytest.param(0, 10 * 60, False, id="10min-before-issue"),
        pytest.param(0, 2 * 60, True, id="2min-before-issue-within-the-clock-skew"),
        pytest.param(3600, 30 * 60, True, id="within-the-lifetime"),
        pytest.param(23.5 * 3600, -50 * 60, False, id="after-the-token-expired"),
    ],
)
def test_an_events_time_must_lie_within_its_tokens_lifetime(client, world, signed_ago, happened_ago, counted):
    """An event's time lies between its token's issue time, less 5 minutes of clock skew, and the token's
    expiry (24 h after issue); one outside is stored, flagged out_of_window, and not counted."""
    served = _serve(world, seconds_ago=signed_ago)
    at = timezone.now() - timedelta(seconds=happened_ago)

    response = _batch(client, world.key, [_event("c", "click", served.click_token, at, ip="198.51.100.1")])

    assert response.status_code == 200 and response.json()["stored"] == 1
    assert Event.objects.get().invalid_reason == ("" if counted else "out_of_window")
    assert _counted("click") == (int(counted), 1)


# --- Conversions ------------------------------------------------------------------------------------------


def test_conversions_on_a_click_that_was_never_recorded_are_stored_but_not_counted(client, world):
    """Eleven orders on one click token whose click was never reported: stored, flagged no_click, none counted."""
    served = _serve(world)

    answers = [_postback(client, world.key, f"order-{i}", served.click_token).status_code for i in range(11)]

    assert answers == [201] * 11
    assert set(Event.objects.values_list("kind", "invalid_reason")) == {("conversion", "no_click")}
    assert _counted("conversion") == (0, 11)


def test_a_recorded_click_counts_one_conversion_and_each_order_once(client, world):
    """On a recorded click the first order counts; an order sent again is stored once, and further orders on
    the same click are stored as duplicates (the conversion rate stays a share of clicks)."""
    served = _serve(world)
    client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)

    first = _postback(client, world.key, "order-0", served.click_token)
    again = _postback(client, world.key, "order-0", served.click_token)
    others = [_postback(client, world.key, f"order-{i}", served.click_token).status_code for i in range(1, 11)]

    assert (first.status_code, again.status_code, others) == (201, 200, [201] * 10)
    assert _counted("conversion") == (1, 11)


# --- Bursts -----------------------------------------------------------------------------------------------


def test_events_without_an_address_are_held_to_the_burst_rule_per_placement(client, world, settings):
    """Leaving `ip` out does not skip the burst rule: a placement's events without an address count
    together, so 8 of them within 30 s at a limit of 5 a minute leave 3 flagged burst."""
    settings.TRACKING_BURST_EVENTS_PER_MINUTE = 5
    start = timezone.now() - timedelta(seconds=40)
    events = [_event(f"i-{i}", "impression", _serve(world, seconds_ago=60).impression_token,
                     start + timedelta(seconds=4 * i)) for i in range(8)]  # fmt: skip

    response = _batch(client, world.key, events)

    assert response.status_code == 200
    assert Event.objects.filter(invalid_reason="burst").count() == 3
    assert _counted("impression") == (5, 8)


def test_a_burst_on_one_serve_from_many_addresses_is_flagged(client, world, settings):
    """Bursts are counted per serve too: 8 events of one serve within 30 s from 8 addresses, at a limit of 5
    a minute, leave the last 3 flagged burst (and only the first counted)."""
    settings.TRACKING_BURST_EVENTS_PER_MINUTE = 5
    served = _serve(world, seconds_ago=60)
    start = timezone.now() - timedelta(seconds=40)
    events = [_event(f"i-{i}", "impression", served.impression_token, start + timedelta(seconds=4 * i),
                     ip=f"198.51.100.{i}") for i in range(8)]  # fmt: skip

    _batch(client, world.key, events)

    flagged = Event.objects.filter(invalid_reason="burst").order_by("occurred_at")
    assert [e.occurred_at for e in flagged] == [start + timedelta(seconds=4 * i) for i in (5, 6, 7)]
    assert _counted("impression") == (1, 8)


# --- Tracking side effects (item 10) ----------------------------------------------------------------------


def test_a_click_for_a_campaign_without_a_landing_page_is_refused_and_stores_nothing(client, world):
    """No landing URL: the click answers 400 (no_landing_url) and stores no event."""
    Campaign.objects.filter(pk=world.campaign.pk).update(landing_url="")
    served = _serve(world)

    response = client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 400 and response.json()["code"] == "no_landing_url"
    assert not Event.objects.exists()


def test_a_landing_url_accepted_in_capitals_is_where_the_click_goes(client, world, operator):
    """A landing URL the campaign API accepts is a landing page: `HTTPS://SHOP.EXAMPLE/...` redirects."""
    client.force_login(operator)
    saved = client.patch(
        f"/api/v1/campaigns/{world.campaign.pk}/", {"landing_url": "HTTPS://SHOP.EXAMPLE/Winter"},
        content_type="application/json",
    )  # fmt: skip
    assert saved.status_code == 200
    served = _serve(world)

    response = client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert response["Location"] == "HTTPS://SHOP.EXAMPLE/Winter"
    assert Event.objects.filter(kind="click").count() == 1


@pytest.mark.parametrize("url", ["ftp://shop.example/winter", "ftps://shop.example/winter"])
def test_a_landing_url_a_click_cannot_go_to_is_refused_when_saved(client, world, operator, url):
    """Only http and https landing URLs are accepted: anything else would be stored and never redirected to."""
    client.force_login(operator)

    saved = client.patch(
        f"/api/v1/campaigns/{world.campaign.pk}/", {"landing_url": url}, content_type="application/json"
    )

    assert saved.status_code == 400 and "landing_url" in saved.json()["extra"]["fields"]
    assert Campaign.objects.get(pk=world.campaign.pk).landing_url == LANDING


def test_tokens_served_before_a_key_was_revoked_are_stored_but_not_counted(client, world):
    """Revoking a placement's key voids the tokens served under it: their pixel, click, batch events and
    conversions are stored flagged revoked_key and not counted (the click still reaches the landing page).
    Tokens served under the new key count as usual."""
    old = _serve(world, seconds_ago=60)
    placement_key_revoke(placement=world.placement)
    new_key = placement_key_issue(placement=world.placement)
    new = _serve(world)
    now = timezone.now()

    pixel = client.get(f"/t/i/{old.impression_token}.gif", HTTP_USER_AGENT=BROWSER)
    click = client.get(f"/t/c/{old.click_token}", HTTP_USER_AGENT=BROWSER)
    events = [
        _event("i-old", "impression", old.impression_token, now, ip="198.51.100.1"),
        _event("i-new", "impression", new.impression_token, now, ip="198.51.100.2"),
    ]
    batch = _batch(client, new_key, events)
    order = _postback(client, new_key, "order-1", old.click_token)

    assert (pixel.status_code, click.status_code, batch.status_code, order.status_code) == (200, 302, 200, 201)
    assert Event.objects.filter(invalid_reason="revoked_key").count() == 4
    assert _counted("impression") == (1, 3)
    assert _counted("click") == (0, 1)


# --- Whatever is sent for one serve ------------------------------------------------------------------------

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None
_SEND = st.one_of(
    st.tuples(st.just("pixel"), st.sampled_from(["impression", "click"])),
    st.tuples(
        st.just("batch"),
        st.sampled_from(["impression", "click"]),
        st.integers(min_value=-150, max_value=30),  # minutes from now; the serve was 2 h ago
        st.sampled_from([None, "198.51.100.1", "198.51.100.2"]),
    ),
    st.tuples(st.just("again"), st.integers(min_value=0, max_value=20)),  # an earlier batch event, resent
)


@hypothesis_settings(
    max_examples=EXAMPLES or 30,
    deadline=None,
    derandomize=not (EXAMPLES and EXAMPLES >= 100),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sends=st.lists(_SEND, min_size=1, max_size=12))
def test_whatever_is_sent_for_one_serve_it_counts_at_most_one_impression_and_one_click(client, world, sends):
    """Any mix of pixel, click and batch events for one serve (new ids, resent ids, any times and
    addresses): every request is accepted, every distinct event stored, and per kind exactly one
    counts when any of them is valid, none otherwise."""
    served = _serve(world, seconds_ago=2 * 3600)
    tokens = {"impression": served.impression_token, "click": served.click_token}
    serve_id = tracking_token_payload(served.impression_token, max_age=24 * 3600)["s"]
    now, sent, batch, ids = timezone.now(), [], [], set()

    def flush():
        if batch:
            assert _batch(client, world.key, batch).status_code == 200
            batch.clear()

    for send in sends:
        if send[0] == "pixel":
            flush()
            path = f"/t/i/{tokens[send[1]]}.gif" if send[1] == "impression" else f"/t/c/{tokens[send[1]]}"
            assert client.get(path, HTTP_USER_AGENT=BROWSER).status_code in (200, 302)
            ids.add(("pixel", send[1]))
        elif send[0] == "batch":
            _, kind, minutes, ip = send
            event = _event(f"{serve_id}-{len(sent)}", kind, tokens[kind], now + timedelta(minutes=minutes), ip=ip)
            sent.append(event)
            batch.append(event)
            ids.add(event["id"])
        elif sent:
            batch.append(sent[send[1] % len(sent)])
    flush()

    stored = Event.objects.filter(serve_id=serve_id)
    assert stored.count() == len(ids)
    for kind in ("impression", "click"):
        valid = stored.filter(kind=kind, invalid_reason="").exists()
        assert stored.filter(NET, kind=kind).count() == int(valid)
