"""Tracking counts each event once, flags bots and duplicates, and never redirects anywhere but the landing page."""

import pytest

from analytics.models import Event

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def test_impression_pixel_is_a_gif_that_is_never_cached_and_counts_once(client, served):
    first = client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER)
    replay = client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER)

    assert first.status_code == replay.status_code == 200
    assert first["Content-Type"] == "image/gif" and "no-store" in first["Cache-Control"]
    assert Event.objects.filter(kind="impression").count() == 1


def test_no_tracking_answer_may_be_kept_by_a_cache(client, served):
    """Pixels, clicks and refusals alike: a cached answer would hide the next request from the counts."""
    answers = [
        client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER),
        client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER),
        client.get("/t/i/forged.gif", HTTP_USER_AGENT=BROWSER),
        client.get("/t/v/start/forged.gif", HTTP_USER_AGENT=BROWSER),
    ]

    assert [a.status_code for a in answers] == [200, 302, 400, 400]
    for answer in answers:
        directives = {d.strip() for d in answer["Cache-Control"].split(",")}
        assert {"no-store", "no-cache", "max-age=0", "private", "must-revalidate"} <= directives
        assert answer["Expires"]


def test_click_redirects_to_the_stored_landing_page_only(client, served):
    response = client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/winter?utm_source=ads"


@pytest.mark.parametrize(
    "suffix", ["?url=https://evil.example", "?next=//evil", "?u=/%5Cevil", "?to=javascript:alert(1)"]
)
def test_query_strings_cannot_change_where_a_click_goes(client, served, suffix):
    response = client.get(f"/t/c/{served.click_token}{suffix}", HTTP_USER_AGENT=BROWSER)

    assert response["Location"] == "https://shop.example.com/winter?utm_source=ads"


@pytest.mark.parametrize(
    ("forge", "status"),
    [
        (lambda t: t[:-3] + "abc", 400),
        (lambda t: "javascript:alert(1)", 400),
        (lambda t: "%5Cevil", 400),
        # With a slash in it (encoded or not) the path matches no tracking route at all.
        (lambda t: "%2F%2Fevil.example", 404),
        (lambda t: "https://evil.example", 404),
        (lambda t: "/evil", 404),
    ],
)
def test_forged_or_edited_click_token_is_refused_and_never_redirects(client, served, forge, status):
    response = client.get(f"/t/c/{forge(served.click_token)}", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == status
    assert "Location" not in response
    assert not Event.objects.exists()


def test_tracking_urls_answer_other_methods_with_405(served):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)  # as a real browser's POST meets the CSRF middleware

    pixel = browser.post(f"/t/i/{served.impression_token}.gif")
    click = browser.post(f"/t/c/{served.click_token}")

    assert (pixel.status_code, click.status_code) == (405, 405)
    assert pixel["Allow"] == "GET" and not Event.objects.exists()


def test_an_impression_token_is_not_a_click_token(client, served):
    response = client.get(f"/t/c/{served.impression_token}", HTTP_USER_AGENT=BROWSER)
    pixel = client.get(f"/t/i/{served.click_token}.gif", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 400 and "Location" not in response
    assert pixel.status_code == 400 and pixel.json()["message"] == "This is not an impression link."


def test_second_click_on_the_same_impression_is_kept_as_a_duplicate(client, served):
    from django.core import signing

    from campaigns.serving import TRACKING_SALT

    again = signing.dumps(
        {**signing.loads(served.click_token, salt=TRACKING_SALT), "x": 1}, salt=TRACKING_SALT, compress=True
    )
    client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)
    client.get(f"/t/c/{again}", HTTP_USER_AGENT=BROWSER)

    clicks = Event.objects.filter(kind="click").order_by("pk")
    assert [c.duplicate for c in clicks] == [False, True]
    assert sum(c.counts_net for c in clicks) == 1


@pytest.mark.parametrize(
    ("user_agent", "reason"), [("Googlebot/2.1", "bot"), ("curl/8.5.0", "bot"), ("", "empty_user_agent")]
)
def test_bot_and_empty_user_agents_are_stored_but_not_counted(client, served, user_agent, reason):
    client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=user_agent)

    event = Event.objects.get()
    assert event.invalid_reason == reason and not event.counts_net


def _postback(client, key, order_id, token):
    return client.post(
        "/api/v1/conversions",
        {"order_id": order_id, "click_token": token},
        content_type="application/json",
        HTTP_X_PLACEMENT_KEY=key,
    )


def test_conversion_postback_is_idempotent_on_the_order_id(client, served, placement_key):
    first = _postback(client, placement_key, "order-1", served.click_token)
    replay = _postback(client, placement_key, "order-1", served.click_token)

    assert first.status_code == 201 and replay.status_code == 200
    assert first.json() == replay.json()
    assert Event.objects.filter(kind="conversion").count() == 1


def test_same_order_for_another_click_is_a_conflict(client, served, placement_key):
    from django.core import signing

    from campaigns.serving import TRACKING_SALT

    other_click = signing.dumps(
        {**signing.loads(served.click_token, salt=TRACKING_SALT), "s": "another"}, salt=TRACKING_SALT, compress=True
    )
    _postback(client, placement_key, "order-2", served.click_token)

    conflict = _postback(client, placement_key, "order-2", other_click)

    assert conflict.status_code == 409 and conflict.json()["code"] == "order_conflict"
    assert Event.objects.filter(kind="conversion").count() == 1


def test_conversion_with_a_forged_token_or_no_key_stores_nothing(client, served, placement_key):
    forged = _postback(client, placement_key, "order-3", served.click_token[:-4] + "abcd")
    impression_as_click = _postback(client, placement_key, "order-4", served.impression_token)
    no_key = client.post(
        "/api/v1/conversions", {"order_id": "o", "click_token": served.click_token}, content_type="application/json"
    )
    missing_field = _postback(client, placement_key, "", served.click_token)

    assert (forged.status_code, impression_as_click.status_code, no_key.status_code) == (400, 400, 401)
    assert missing_field.status_code == 400
    assert not Event.objects.filter(kind="conversion").exists()


def test_a_personal_api_key_on_a_placement_endpoint_is_told_which_key_it_takes(client, served):
    # Must hold: a Bearer key (an operator's) is a 401 that names the placement key, not "credentials were not
    # provided"; nothing is stored.
    response = client.post(
        "/api/v1/conversions",
        {"order_id": "o", "click_token": served.click_token},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer abc.def",
    )

    assert response.status_code == 401 and response.json()["code"] == "placement_key_required"
    assert "X-Placement-Key" in response.json()["message"]
    assert not Event.objects.filter(kind="conversion").exists()


def test_an_impression_is_one_insert_and_its_replay_stores_nothing_more(client, served, django_assert_num_queries):
    client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER)  # looks the creative up once

    again = serve_creative_for(served)
    with django_assert_num_queries(1):
        client.get(f"/t/i/{again.impression_token}.gif", HTTP_USER_AGENT=BROWSER)
    with django_assert_num_queries(1):
        replay = client.get(f"/t/i/{again.impression_token}.gif", HTTP_USER_AGENT=BROWSER)

    assert replay.status_code == 200
    assert Event.objects.filter(kind="impression").count() == 2


def test_events_for_a_deleted_creative_are_refused_and_store_nothing(client, served):
    client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER)  # its lookup is now cached
    served.creative.delete()

    pixel = client.get(f"/t/i/{served.impression_token}.gif", HTTP_USER_AGENT=BROWSER)
    click = client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)

    assert pixel.status_code == click.status_code == 400
    assert pixel.json()["code"] == click.json()["code"] == "unknown_creative"
    assert not Event.objects.exists()


def serve_creative_for(served):
    """Another serve of the fixture's placement: new tokens, new events."""
    from campaigns.serving import serve_creative

    placement = served.creative.campaign.placements.get()
    return serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250))


def test_a_click_is_one_insert_and_a_second_click_on_its_impression_is_a_duplicate(
    client, served, django_assert_num_queries
):
    from django.core import signing

    from campaigns.serving import TRACKING_SALT

    client.get(f"/t/c/{served.click_token}", HTTP_USER_AGENT=BROWSER)  # looks the creative up once
    again = signing.dumps({**signing.loads(served.click_token, salt=TRACKING_SALT), "x": 1}, salt=TRACKING_SALT)

    with django_assert_num_queries(1):
        response = client.get(f"/t/c/{again}", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert sorted(Event.objects.values_list("duplicate", flat=True)) == [False, True]
