"""The creatives API: a campaign's or a job's creatives filtered as in the review gallery, each with its
files, score components, violations and provenance; approved and rejected in bulk by ids or by filter
under the gallery's rules (operators only, another campaign's ids ignored, serving follows at once)."""

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile

from campaigns.api.throttling import rate_counts_forget
from campaigns.models import Creative, GenerationJob, Placement
from campaigns.serving import placement_key_issue
from campaigns.tests.factories import CampaignFactory, CreativeFactory, PlacementFactory, TemplateVersionFactory

pytestmark = pytest.mark.django_db
LIST = "/api/v1/creatives/"
REVIEW = "/api/v1/creatives/review"


@pytest.fixture(autouse=True)
def clean(media):
    cache.clear()
    rate_counts_forget()


@pytest.fixture
def world():
    """Campaign "winter" (one job) with five creatives of two product sets and two sizes, and a foreign campaign."""
    placement = PlacementFactory(sizes=[[300, 250], [1080, 1080]])
    winter = CampaignFactory(name="winter", landing_url="https://shop.example/w")
    winter.placements.add(placement)
    job = GenerationJob.objects.create(campaign=winter, product_sets_total=2)
    version = TemplateVersionFactory()

    def creative(key, size, score, state=Creative.State.PENDING, variant=0, campaign=winter, **extra):
        return CreativeFactory(
            campaign=campaign, job=job if campaign == winter else None, product_key=key, template_version=version,
            width=size[0], height=size[1], variant=variant, aesthetic_score=score, state=state,
            stored_file=b"jpeg", **extra,
        )  # fmt: skip

    made = {
        "a_square_best": creative("SKU1+SKU2", (1080, 1080), 91.0, family="famA0"),
        "a_square": creative("SKU1+SKU2", (1080, 1080), 74.0, variant=1, family="famA1"),
        "a_banner": creative("SKU1+SKU2", (300, 250), 66.0, family="famA0"),
        "b_banner": creative("SKU3", (300, 250), 48.0, state=Creative.State.APPROVED),
        "b_square": creative("SKU3", (1080, 1080), 83.0, violations=["low_contrast:title"]),
    }
    summer = CampaignFactory(name="summer")
    made["foreign"] = creative("SKU1", (300, 250), 95.0, campaign=summer)
    return {"placement": placement, "campaign": winter, "job": job, "other": summer, **made}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["results"]]


def _review(client, body):
    return client.post(REVIEW, body, content_type="application/json")


# --- listing -------------------------------------------------------------------------------------------


def test_a_campaigns_creatives_are_listed_in_the_gallerys_order(client, operator, world):
    client.force_login(operator)

    ids = _ids(client.get(LIST, {"campaign": world["campaign"].pk}))

    # Product set by product set; within one, its sizes widest first, each best first (the gallery's order).
    expected = ["a_square_best", "a_square", "a_banner", "b_square", "b_banner"]
    assert ids == [world[name].pk for name in expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "approved"}, ["b_banner"]),
        ({"size": "1080x1080"}, ["a_square_best", "a_square", "b_square"]),
        ({"format": "video"}, []),
        ({"product": "SKU2"}, ["a_square_best", "a_square", "a_banner"]),
        ({"product": "SKU1"}, ["a_square_best", "a_square", "a_banner"]),  # SKU1 of SKU1+SKU2, not SKU11
        ({"min_score": "80"}, ["a_square_best", "b_square"]),
        ({"max_score": "50"}, ["b_banner"]),
        ({"size": "300x250", "state": "pending", "min_score": "60"}, ["a_banner"]),
        ({"family": "famA0"}, ["a_square_best", "a_banner"]),  # one design family: its sizes
    ],
)
def test_filters_narrow_a_campaigns_creatives(client, operator, world, query, expected):
    client.force_login(operator)

    ids = _ids(client.get(LIST, {"campaign": world["campaign"].pk, **query}))

    assert ids == [world[name].pk for name in expected]


def test_a_jobs_creatives_are_its_own(client, operator, world):
    client.force_login(operator)

    ids = _ids(client.get(LIST, {"job": world["job"].pk, "product": "SKU1"}))

    assert world["foreign"].pk not in ids and len(ids) == 3


def test_a_malformed_filter_is_refused_naming_it_not_dropped(client, operator, world):
    client.force_login(operator)

    response = client.get(LIST, {"campaign": world["campaign"].pk, "size": "big", "min_score": "high"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filter"
    assert set(response.json()["extra"]["fields"]) == {"size", "min_score"}


def test_each_creative_carries_its_files_scores_violations_and_provenance(client, operator, world):
    creative = world["b_square"]
    creative.score_breakdown = {"readability": 0.91, "harmony": 0.8}
    creative.provenance = {"template": "hero", "palette": {"name": "warm"}}
    creative.save()
    creative.thumbnail.save("thumb.jpg", ContentFile(b"thumb"), save=True)
    client.force_login(operator)

    body = client.get(f"{LIST}{creative.pk}/").json()

    assert body["url"] == f"http://testserver{creative.file.url}", "absolute, through the storage's URL"
    assert body["thumbnail_url"] == f"http://testserver{creative.thumbnail.url}" and body["poster_url"] is None
    assert body["score_breakdown"] == {"readability": 0.91, "harmony": 0.8}
    assert body["violations"] == ["low_contrast:title"]
    assert body["provenance"] == {"template": "hero", "palette": {"name": "warm"}}
    assert (body["size"], body["product_skus"], body["state"]) == ("1080x1080", ["SKU3"], "pending")
    assert (body["campaign"], body["job"], body["aesthetic_score"]) == (world["campaign"].pk, world["job"].pk, 83.0)
    assert body["template"] == creative.template_version.template_id


def test_a_videos_poster_is_an_absolute_url(client, operator, world):
    video = CreativeFactory(
        campaign=world["campaign"], format=Creative.Format.VIDEO, width=720, height=1280, duration=15.0,
        stored_file=b"mp4",
    )  # fmt: skip
    video.poster.save("poster.jpg", ContentFile(b"jpeg"), save=True)
    client.force_login(operator)

    (body,) = client.get(LIST, {"campaign": world["campaign"].pk, "format": "video"}).json()["results"]

    assert body["poster_url"] == f"http://testserver{video.poster.url}" and body["duration"] == 15.0


# --- bulk review ----------------------------------------------------------------------------------------


def test_approve_by_ids_changes_those_and_says_how_many(client, operator, world):
    client.force_login(operator)
    chosen = [world["a_square_best"].pk, world["a_banner"].pk, world["b_banner"].pk]  # b_banner: approved already

    response = _review(client, {"action": "approve", "ids": chosen})

    assert response.status_code == 200
    assert response.json() == {"action": "approve", "matched": 3, "changed": 2, "ids_ignored": []}
    assert set(Creative.objects.filter(pk__in=chosen).values_list("state", flat=True)) == {"approved"}
    assert Creative.objects.get(pk=world["a_square"].pk).state == "pending", "only the ids named"


def test_reject_by_filter_changes_what_the_list_shows_for_that_filter(client, operator, world):
    client.force_login(operator)
    query = {"campaign": world["campaign"].pk, "max_score": 70}
    listed = _ids(client.get(LIST, query))

    response = _review(client, {"action": "reject", "filter": query})

    assert response.json() == {"action": "reject", "matched": len(listed), "changed": len(listed), "ids_ignored": []}
    assert sorted(Creative.objects.filter(state="rejected").values_list("pk", flat=True)) == sorted(listed)
    assert world["foreign"].state == Creative.objects.get(pk=world["foreign"].pk).state == "pending"


def test_ids_of_another_campaign_are_ignored_when_the_filter_names_the_campaign(client, operator, world):
    # As in the gallery: a campaign's review changes only that campaign's creatives.
    client.force_login(operator)
    ids = [world["a_square"].pk, world["foreign"].pk, 999_999]

    response = _review(client, {"action": "approve", "ids": ids, "filter": {"campaign": world["campaign"].pk}})

    assert response.json() == {
        "action": "approve", "matched": 1, "changed": 1, "ids_ignored": sorted([world["foreign"].pk, 999_999]),
    }  # fmt: skip
    assert Creative.objects.get(pk=world["foreign"].pk).state == "pending"


def test_a_filter_alone_must_name_a_campaign_or_a_job(client, operator, world):
    client.force_login(operator)

    response = _review(client, {"action": "approve", "filter": {"state": "pending"}})

    assert response.status_code == 400 and "filter" in response.json()["extra"]["fields"]
    assert not Creative.objects.filter(state="approved").exclude(pk=world["b_banner"].pk).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"action": "approve"},
        {"action": "publish", "ids": [1]},
        {"action": "approve", "ids": []},
        {"action": "approve", "filter": {"campaign": 1, "min_score": "high"}},
        {"action": "approve", "ids": list(range(1, 1002))},
    ],
)
def test_a_malformed_review_changes_nothing(client, operator, world, body):
    client.force_login(operator)
    before = list(Creative.objects.order_by("pk").values_list("state", flat=True))

    response = _review(client, body)

    assert response.status_code == 400
    assert list(Creative.objects.order_by("pk").values_list("state", flat=True)) == before


def test_a_misspelt_filter_is_refused_not_dropped_to_review_the_whole_campaign(client, operator, world):
    # Must hold: {"campaign": 7, "max_scor": 50} (max_score misspelt) changes nothing and names the key; dropped,
    # it would reject every creative of the live campaign and stop its serving.
    client.force_login(operator)
    before = list(Creative.objects.order_by("pk").values_list("state", flat=True))

    response = _review(client, {"action": "reject", "filter": {"campaign": world["campaign"].pk, "max_scor": 50}})

    assert response.status_code == 400
    assert "max_scor" in response.json()["extra"]["fields"]["filter"]
    assert list(Creative.objects.order_by("pk").values_list("state", flat=True)) == before


def test_an_unknown_campaign_in_the_filter_is_a_400_not_an_empty_review(client, operator, world):
    client.force_login(operator)

    response = _review(client, {"action": "approve", "filter": {"campaign": 999_999}})

    assert response.status_code == 400 and "campaign" in response.json()["extra"]["fields"]


def test_approving_changes_what_serving_returns_at_once(client, operator, world):
    # Given a live campaign whose only approved 1080x1080 creative is none: serving has nothing to show.
    placement: Placement = world["placement"]
    key = placement_key_issue(placement=placement)

    def serve():
        return client.get(f"/api/v1/serve/{placement.pk}", {"size": "1080x1080"}, HTTP_X_PLACEMENT_KEY=key)

    assert serve().status_code == 404
    client.force_login(operator)

    _review(client, {"action": "approve", "ids": [world["a_square_best"].pk]})

    assert serve().json()["creative_id"] == world["a_square_best"].pk
    _review(client, {"action": "reject", "filter": {"campaign": world["campaign"].pk, "size": "1080x1080"}})
    assert serve().status_code == 404


# --- who may --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["designer", "analyst"], indirect=True)
def test_designers_and_analysts_may_neither_list_nor_review_as_in_the_gallery(client, role_user, world):
    client.force_login(role_user)

    listed = client.get(LIST, {"campaign": world["campaign"].pk})
    detail = client.get(f"{LIST}{world['a_square'].pk}/")
    review = _review(client, {"action": "approve", "ids": [world["a_square"].pk]})

    assert (listed.status_code, detail.status_code, review.status_code) == (403, 403, 403)
    assert Creative.objects.get(pk=world["a_square"].pk).state == "pending"


def test_a_malformed_filter_from_a_refused_user_is_still_refused_first(client, analyst, world):
    client.force_login(analyst)

    response = client.get(LIST, {"campaign": 999_999, "size": "big"})

    assert response.status_code == 403, "the filter is not judged for someone who may not list"


def test_anonymous_callers_and_placement_keys_get_401(client, world):
    key = placement_key_issue(placement=world["placement"])

    assert client.get(LIST).status_code == 401
    assert client.get(LIST, HTTP_X_PLACEMENT_KEY=key).status_code == 401
    assert client.post(REVIEW, {"action": "approve", "ids": [1]}, content_type="application/json").status_code == 401


def test_a_personal_api_key_of_an_operator_may_review(client, operator, world):
    from accounts.services import api_key_create

    _, key = api_key_create(user=operator, name="review script")

    response = client.post(
        REVIEW,
        {"action": "approve", "ids": [world["a_square"].pk]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )

    assert response.status_code == 200 and response.json()["changed"] == 1


def test_the_schema_documents_every_filter_as_a_query_parameter_and_in_the_review_body(client, operator):
    # The filter set is the one definition: a filter added to it is documented on both operations.
    from campaigns.filters import CreativeFilter

    client.force_login(operator)

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    listed = {p["name"] for p in schema["paths"]["/api/v1/creatives/"]["get"]["parameters"]}
    body = schema["components"]["schemas"]["CreativeFilterRequest"]["properties"]
    assert set(CreativeFilter.base_filters) <= listed and set(CreativeFilter.base_filters) == set(body)
    review = schema["paths"]["/api/v1/creatives/review/"]["post"]
    assert {"200", "400", "401", "403"} <= set(review["responses"])


def test_format_filters_creatives_and_the_browsable_api_still_renders_the_list(client, operator, world):
    # ?format= is the gallery's image/video filter here, not DRF's choice of the answer's format.
    client.force_login(operator)

    images = client.get(LIST, {"format": "image"}, HTTP_ACCEPT="text/html")
    videos = client.get(LIST, {"format": "video"}, HTTP_ACCEPT="text/html")

    assert images.status_code == 200 and images["Content-Type"].startswith("text/html")
    assert f"&quot;id&quot;: {world['a_square'].pk}," in images.content.decode()
    assert "&quot;count&quot;: 6," in images.content.decode()
    assert videos.status_code == 200 and "&quot;count&quot;: 0," in videos.content.decode()
