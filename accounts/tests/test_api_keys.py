"""Personal API keys: a program signs in with `Authorization: Bearer <key>` and acts within its owner's role."""

from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import UserAPIKey
from campaigns.models import Placement

pytestmark = pytest.mark.django_db

PLACEMENT = {"name": "feed", "channel": "recommendation", "sizes": [[300, 250]]}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def make_key(user, name="script") -> str:
    return services.api_key_create(user=user, name=name)[1]


def test_a_key_made_through_the_api_is_shown_once_and_stored_only_as_a_hash(client, operator):
    client.force_login(operator)

    made = client.post("/api/v1/api-keys/", {"name": "nightly export"}, "application/json")

    assert made.status_code == 201, made.content
    key = made.json()["key"]
    assert made["Location"].endswith(f"/api/v1/api-keys/{made.json()['prefix']}/")
    listed = client.get("/api/v1/api-keys/").json()["results"]
    assert [k["name"] for k in listed] == ["nightly export"] and "key" not in listed[0]
    row = UserAPIKey.objects.get()
    assert row.user == operator and key not in (row.id, row.hashed_key) and key.startswith(row.prefix + ".")


@pytest.mark.parametrize(
    "role, path, expected",
    [
        ("operator", "/api/v1/placements/", 200),
        ("designer", "/api/v1/placements/", 403),
        ("analyst", "/api/v1/placements/", 403),
        ("designer", "/api/v1/templates/", 200),
        ("analyst", "/api/v1/templates/", 403),
        ("analyst", "/api/v1/statistics/breakdown?by=template", 200),
        ("designer", "/api/v1/statistics/breakdown?by=template", 403),
    ],
)
def test_a_key_can_do_what_its_owners_role_can_and_nothing_more(request, role, path, expected):
    key = make_key(request.getfixturevalue(role))

    response = Client().get(path, headers=bearer(key))

    assert response.status_code == expected, response.content


def test_a_key_follows_its_owner_when_the_role_changes(operator):
    key = make_key(operator)
    operator.groups.clear()

    assert Client().get("/api/v1/placements/", headers=bearer(key)).status_code == 403


def test_a_write_with_a_key_needs_no_csrf_token_while_a_session_still_does(operator):
    csrf_checked = Client(enforce_csrf_checks=True)
    key = make_key(operator)

    with_key = csrf_checked.post("/api/v1/placements/", PLACEMENT, "application/json", headers=bearer(key))
    csrf_checked.force_login(operator)
    with_session = csrf_checked.post("/api/v1/placements/", PLACEMENT, "application/json")

    assert with_key.status_code == 201, with_key.content
    assert with_session.status_code == 403
    assert Placement.objects.count() == 1


def test_no_credentials_answer_401_with_a_bearer_challenge_in_the_error_shape(client):
    response = client.get("/api/v1/placements/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "extra": {},
    }


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Bearer abc.def", "Bearer {prefix}.wrongsecret"])
def test_a_wrong_key_answers_401_and_changes_nothing(client, operator, header):
    key = make_key(operator)
    prefix = key.split(".")[0]

    response = client.post(
        "/api/v1/placements/", PLACEMENT, "application/json", headers={"Authorization": header.format(prefix=prefix)}
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"message", "code", "extra"}
    assert not Placement.objects.exists()


def test_a_revoked_key_is_refused_from_the_next_request_and_kept_for_the_record(client, operator):
    key = make_key(operator)
    prefix = key.split(".")[0]
    client.force_login(operator)

    revoked = client.delete(f"/api/v1/api-keys/{prefix}/")
    client.logout()
    after = client.get("/api/v1/placements/", headers=bearer(key))

    assert revoked.status_code == 204
    assert after.status_code == 401 and after.json()["code"] == "invalid_api_key"
    assert UserAPIKey.objects.get(prefix=prefix).revoked


def test_an_expired_key_is_refused(operator):
    api_key, key = services.api_key_create(user=operator, name="x", expiry_date=timezone.now() - timedelta(seconds=1))

    assert Client().get("/api/v1/placements/", headers=bearer(key)).status_code == 401


def test_a_key_that_would_be_born_expired_is_refused_not_made(client, operator):
    # Must hold: an expiry in the past is a 400 naming expiry_date; no key is made (it could never be used).
    client.force_login(operator)

    past = client.post("/api/v1/api-keys/", {"name": "x", "expiry_date": "2000-01-01T00:00:00Z"}, "application/json")
    future = (timezone.now() + timedelta(days=30)).isoformat()
    later = client.post("/api/v1/api-keys/", {"name": "y", "expiry_date": future}, "application/json")

    assert past.status_code == 400 and "expiry_date" in past.json()["extra"]["fields"]
    assert later.status_code == 201
    assert list(UserAPIKey.objects.values_list("name", flat=True)) == ["y"]


def test_a_person_sees_and_revokes_only_their_own_keys(client, operator, analyst):
    theirs = make_key(analyst).split(".")[0]
    client.force_login(operator)

    assert client.get("/api/v1/api-keys/").json()["results"] == []
    assert client.delete(f"/api/v1/api-keys/{theirs}/").status_code == 404
    assert not UserAPIKey.objects.get(prefix=theirs).revoked


def test_a_key_cannot_make_another_key(client, operator):
    """A leaked key must not outlive its revocation through a key it made."""
    key = make_key(operator)

    response = client.post("/api/v1/api-keys/", {"name": "copy"}, "application/json", headers=bearer(key))

    assert response.status_code == 403 and response.json()["code"] == "key_cannot_make_keys"
    assert UserAPIKey.objects.count() == 1


def test_a_superuser_holds_no_key(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="pw-root")
    client.force_login(root)

    response = client.post("/api/v1/api-keys/", {"name": "god mode"}, "application/json")

    assert response.status_code == 400 and response.json()["code"] == "not_a_role_member"
    assert not UserAPIKey.objects.exists()


def test_last_use_is_recorded_at_most_once_a_minute(operator):
    key = make_key(operator)
    api_key = UserAPIKey.objects.get()
    assert api_key.last_used_at is None

    Client().get("/api/v1/placements/", headers=bearer(key))
    first = UserAPIKey.objects.get().last_used_at
    Client().get("/api/v1/placements/", headers=bearer(key))
    second = UserAPIKey.objects.get().last_used_at
    UserAPIKey.objects.update(last_used_at=first - timedelta(minutes=2))
    Client().get("/api/v1/placements/", headers=bearer(key))
    third = UserAPIKey.objects.get().last_used_at

    assert first is not None and second == first  # within the minute: not written again
    assert third > first


def test_the_admin_makes_a_key_for_its_user_and_shows_it_once(client, analyst):
    client.force_login(analyst)

    response = client.post("/admin/accounts/userapikey/add/", {"name": "notebook"}, follow=True)

    shown = [str(m) for m in response.context["messages"]]
    key = next(word for m in shown for word in m.split() if "." in word and len(word) > 30)
    row = UserAPIKey.objects.get()
    assert row.user == analyst and row.name == "notebook"
    assert Client().get("/api/v1/statistics/breakdown?by=template", headers=bearer(key)).status_code == 200
    assert key not in client.get(f"/admin/accounts/userapikey/{row.pk}/change/").content.decode()


def test_a_key_revoked_in_the_admin_is_refused(client, operator):
    key = make_key(operator)
    row = UserAPIKey.objects.get()
    client.force_login(operator)

    response = client.post(
        f"/admin/accounts/userapikey/{quote(row.pk)}/change/", {"name": row.name, "revoked": "on"}, follow=True
    )

    assert response.status_code == 200 and UserAPIKey.objects.get().revoked
    assert Client().get("/api/v1/placements/", headers=bearer(key)).status_code == 401


def test_the_schema_declares_bearer_keys_and_both_placement_headers(client, operator):
    client.force_login(operator)

    schemes = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["components"][
        "securitySchemes"
    ]

    assert schemes["apiKey"] == schemes["apiKey"] | {"type": "http", "scheme": "bearer"}
    assert (
        schemes["placementAuthorization"] | {"type": "http", "scheme": "Placement"} == schemes["placementAuthorization"]
    )
    assert schemes["placementKey"]["name"] == "X-Placement-Key"
