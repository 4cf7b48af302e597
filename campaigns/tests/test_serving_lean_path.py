"""A serve for JSON takes a lean path past DRF's request cycle (ServeView.dispatch), and past the
auth and messages middleware (creativeadmin.browser_middleware): what a placement's
server receives (status, every header in order, the body byte for byte) is what DRF's full cycle under
Django's own middleware answers, success or refusal: 401 with WWW-Authenticate, 404, 400, 403, 429
with Retry-After."""

import itertools
import json
import types

import numpy as np
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.views import APIView

from campaigns.api.throttling import PlacementRateThrottle, rate_counts_forget
from campaigns.api.views import ServeView, _plain_query
from campaigns.models import Creative
from campaigns.serving import cache as serving_cache
from campaigns.serving import placement_key_issue, placement_key_revoke
from campaigns.tests.factories import CampaignFactory, CreativeFactory, PlacementFactory
from creativeadmin import browser_middleware

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def repeatable(media, monkeypatch):
    """The same draw, serve id and signing time on every serve, so two answers can be compared byte for byte."""
    monkeypatch.setattr("campaigns.serving.draw._thread_rng", lambda: np.random.default_rng(7))
    monkeypatch.setattr("campaigns.serving.draw.secrets", types.SimpleNamespace(token_hex=lambda n: "5e" * n))
    monkeypatch.setattr("campaigns.serving.tokens.time", types.SimpleNamespace(time=lambda: 1_800_000_000.0))
    monkeypatch.setattr(PlacementRateThrottle, "THROTTLE_RATES", {"placement": "2/min"})
    monkeypatch.setattr(PlacementRateThrottle, "timer", lambda self: 1_000_000.0)


@pytest.fixture
def world():
    placement = PlacementFactory(sizes=[[300, 250], [728, 90]])
    other = PlacementFactory(sizes=[[300, 250]])
    campaign = CampaignFactory()
    campaign.placements.add(placement)
    for score in (60, 80):
        CreativeFactory(campaign=campaign, aesthetic_score=score, state=Creative.State.APPROVED, stored_file=b"jpeg")
    return placement, other, placement_key_issue(placement=placement)


# Django's own classes, which creativeadmin.browser_middleware's skip the serve path.
STOCK_MIDDLEWARE = {
    f"creativeadmin.browser_middleware.{stock.rpartition('.')[2]}": stock
    for stock in (
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    )
}


def _answers(requests, *, before: bool) -> list:
    """(status, headers, body) of each request in turn, on fresh caches and rate counts; `before`: through
    DRF's full cycle and Django's own middleware, as served before the lean path."""
    cache.clear()
    rate_counts_forget()
    middleware = [STOCK_MIDDLEWARE.get(m, m) for m in settings.MIDDLEWARE] if before else settings.MIDDLEWARE
    assert before == (middleware != settings.MIDDLEWARE)
    with override_settings(MIDDLEWARE=middleware), pytest.MonkeyPatch.context() as patch:
        if before:
            patch.setattr(ServeView, "dispatch", APIView.dispatch)
        client = Client()  # loads the middleware in use now
        answers = []
        for path, query, headers in requests:
            response = client.get(path, query, headers=headers)
            answers.append((response.status_code, list(response.items()), response.content))
    return answers


CASES = {
    "served": lambda p, o, key: [(f"/api/v1/serve/{p.pk}", {"size": "300x250"}, {"X-Placement-Key": key})],
    "served, Authorization header, Accept JSON, a segment": lambda p, o, key: [
        (
            f"/api/v1/serve/{p.pk}",
            {"size": "300x250", "segment": "runners"},
            {"Authorization": f"Placement {key}", "Accept": "application/json; indent=4"},
        )
    ],
    "no key": lambda p, o, key: [(f"/api/v1/serve/{p.pk}", {"size": "300x250"}, {})],
    "unknown key": lambda p, o, key: [
        (f"/api/v1/serve/{p.pk}", {"size": "300x250"}, {"X-Placement-Key": "pk_deadbeef_nope"})
    ],
    "malformed key": lambda p, o, key: [(f"/api/v1/serve/{p.pk}", {"size": "300x250"}, {"X-Placement-Key": "x"})],
    "another placement": lambda p, o, key: [(f"/api/v1/serve/{o.pk}", {"size": "300x250"}, {"X-Placement-Key": key})],
    "no size": lambda p, o, key: [(f"/api/v1/serve/{p.pk}", {}, {"X-Placement-Key": key})],
    "a size not the placement's": lambda p, o, key: [
        (f"/api/v1/serve/{p.pk}", {"size": "160x600"}, {"X-Placement-Key": key})
    ],
    "no creative of the size": lambda p, o, key: [
        (f"/api/v1/serve/{p.pk}", {"size": "728x90"}, {"X-Placement-Key": key})
    ],
    "past the rate": lambda p, o, key: [(f"/api/v1/serve/{p.pk}", {"size": "300x250"}, {"X-Placement-Key": key})] * 3,
}


@pytest.mark.parametrize("case", CASES)
def test_the_lean_path_answers_as_before(world, case):
    requests = CASES[case](*world)

    lean = _answers(requests, before=False)
    before = _answers(requests, before=True)

    assert lean == before


def test_each_serve_of_the_same_creative_answers_with_its_own_tokens(world, monkeypatch):
    # The lean path renders a creative's JSON once and puts each serve's tokens in it.
    placement, _, key = world
    serve_ids = itertools.cycle(["a1" * 8, "b2" * 8])  # two serves per run, the same two in each
    monkeypatch.setattr("campaigns.serving.draw.secrets", types.SimpleNamespace(token_hex=lambda n: next(serve_ids)))
    requests = [(f"/api/v1/serve/{placement.pk}", {"size": "300x250"}, {"X-Placement-Key": key})] * 2

    lean = _answers(requests, before=False)
    before = _answers(requests, before=True)

    assert lean == before
    first, second = (json.loads(body) for _, _, body in lean)
    assert first["creative_id"] == second["creative_id"] and first["click_url"] != second["click_url"]
    assert first["impression_url"] != second["impression_url"]


@pytest.mark.parametrize("change", ["paused", "revoked"])
def test_a_paused_placement_and_a_revoked_key_are_refused_as_before(world, change):
    placement, _, key = world
    if change == "paused":
        placement.active = False
        placement.save()
    else:
        placement_key_revoke(placement=placement)
    requests = [(f"/api/v1/serve/{placement.pk}", {"size": "300x250"}, {"X-Placement-Key": key})]

    lean = _answers(requests, before=False)
    before = _answers(requests, before=True)

    assert lean == before and lean[0][0] in (401, 403)


def test_the_compared_answers_are_what_the_contract_says(world):
    # Guards the comparison above against comparing two equally wrong answers.
    placement, _, key = world
    requests = CASES["past the rate"](*world) + CASES["no key"](*world)

    answers = _answers(requests, before=False)

    (ok, ok_headers, _), _, (limited, limited_headers, body), (anonymous, anonymous_headers, _) = answers
    assert (ok, limited, anonymous) == (200, 429, 401)
    assert dict(ok_headers)["Content-Type"] == "application/json" and dict(ok_headers)["Vary"] == "Accept"
    assert int(dict(limited_headers)["Retry-After"]) > 0 and b'"code":"throttled"' in body
    assert dict(anonymous_headers)["WWW-Authenticate"] == "Placement"


def test_the_skipped_middleware_is_skipped_on_the_serve_path_only(client, world):
    placement, _, _ = world

    assert reverse("serve", kwargs={"placement_id": placement.pk}).startswith(browser_middleware.SERVE_PATH)
    assert client.get("/admin/login/").status_code == 200  # elsewhere the user and messages are there


@given(query=st.text(alphabet="az09=&%+;.é ", max_size=30) | st.just("size=300x250&segment=runners&size=728x90"))
def test_the_query_reads_as_request_get_reads_it(query):
    # The lean path splits plain queries itself (views._plain_query); what it reads must be what Django reads.
    request = RequestFactory().get("/api/v1/serve/1")
    request.META["QUERY_STRING"] = query.encode().decode("latin-1")  # as a WSGI server passes it

    params = _plain_query(request)

    assert {name: params[name] for name in params} == {name: request.GET[name] for name in request.GET}


def test_a_large_catalogues_rendered_answers_never_clear_the_serving_lookups(world, django_assert_num_queries):
    """Rendered JSON is kept per creative, origin and path: 12,000 of them (a catalogue at several
    placements) must not fill the lookups' store, which a full store clears, so a serve stays free
    of queries."""
    placement, _, key = world
    cache.clear()
    # The flush took the shared serving version with it; announced anew, this process and the cache
    # agree on it again (else the process's copy, kept VERSION_TTL, gives way to a new one during the
    # loop below, and the lookups go with it however few entries there are).
    serving_cache.serving_changed()
    rate_counts_forget()  # two serves, within the tests' rate of 2 a minute
    client = Client()
    path = f"/api/v1/serve/{placement.pk}"
    assert client.get(path, {"size": "300x250"}, HTTP_X_PLACEMENT_KEY=key).status_code == 200  # looked up once

    for n in range(12_000):
        serving_cache.rendered_lookup(("serve-json", n, "http://testserver/", path), lambda: [b"", b"", b""])

    with django_assert_num_queries(0):
        assert client.get(path, {"size": "300x250"}, HTTP_X_PLACEMENT_KEY=key).status_code == 200
