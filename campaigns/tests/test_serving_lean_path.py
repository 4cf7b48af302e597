"""A serve for JSON takes a lean path past DRF's request cycle (ServeView.dispatch): what a placement's
server receives (status, every header in order, the body byte for byte) is what DRF's full cycle answers,
success or refusal: 401 with WWW-Authenticate, 404, 400, 403, 429 with Retry-After."""

import types

import numpy as np
import pytest
from django.core.cache import cache
from rest_framework.views import APIView

from campaigns.api.throttling import PlacementRateThrottle, rate_counts_forget
from campaigns.api.views import ServeView
from campaigns.models import Creative
from campaigns.serving import placement_key_issue, placement_key_revoke
from campaigns.tests.factories import CampaignFactory, CreativeFactory, PlacementFactory

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


def _answers(client, monkeypatch, requests, *, full_cycle: bool) -> list:
    """(status, headers, body) of each request in turn, on fresh caches and rate counts."""
    cache.clear()
    rate_counts_forget()
    with monkeypatch.context() as patch:
        if full_cycle:
            patch.setattr(ServeView, "dispatch", APIView.dispatch)
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
def test_the_lean_path_answers_as_drfs_full_cycle(client, monkeypatch, world, case):
    requests = CASES[case](*world)

    lean = _answers(client, monkeypatch, requests, full_cycle=False)
    full = _answers(client, monkeypatch, requests, full_cycle=True)

    assert lean == full


@pytest.mark.parametrize("change", ["paused", "revoked"])
def test_a_paused_placement_and_a_revoked_key_are_refused_alike(client, monkeypatch, world, change):
    placement, _, key = world
    if change == "paused":
        placement.active = False
        placement.save()
    else:
        placement_key_revoke(placement=placement)
    requests = [(f"/api/v1/serve/{placement.pk}", {"size": "300x250"}, {"X-Placement-Key": key})]

    lean = _answers(client, monkeypatch, requests, full_cycle=False)
    full = _answers(client, monkeypatch, requests, full_cycle=True)

    assert lean == full and lean[0][0] in (401, 403)


def test_the_compared_answers_are_what_the_contract_says(client, monkeypatch, world):
    # Guards the comparison above against comparing two equally wrong answers.
    placement, _, key = world
    requests = CASES["past the rate"](*world) + CASES["no key"](*world)

    answers = _answers(client, monkeypatch, requests, full_cycle=False)

    (ok, ok_headers, _), _, (limited, limited_headers, body), (anonymous, anonymous_headers, _) = answers
    assert (ok, limited, anonymous) == (200, 429, 401)
    assert dict(ok_headers)["Content-Type"] == "application/json" and dict(ok_headers)["Vary"] == "Accept"
    assert int(dict(limited_headers)["Retry-After"]) > 0 and b'"code":"throttled"' in body
    assert dict(anonymous_headers)["WWW-Authenticate"] == "Placement"
