"""The API's conventions a client relies on (issue 19): JSON in and out, `Location` on a create, a page size it
chooses within a documented maximum, filters that filter, and every refusal an operation gives documented."""

import pytest

from campaigns.models import AdCopySet, Campaign, Placement
from campaigns.tests.factories import CampaignFactory, PlacementFactory, ProductFactory
from creativeadmin.pagination import PAGE_SIZE_MAX
from templates_app.models import Template

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client, operator):
    client.force_login(operator)
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_an_unknown_api_path_answers_the_json_error_contract_under_debug_too(client, settings):
    # Django's DEBUG 404 page is HTML and skips handler404: an API client must get JSON either way.
    settings.DEBUG = True

    response = client.get("/api/v1/no-such-endpoint")

    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"message": "No such endpoint or object.", "code": "not_found", "extra": {}}


@pytest.mark.parametrize("debug", [True, False])
def test_a_host_this_server_does_not_serve_gets_the_json_error_contract_under_the_api(client, settings, debug):
    # Must hold: Django refuses a Host header outside ALLOWED_HOSTS before any view, with its technical
    # HTML page in DEBUG and its HTML handler400 page otherwise; an API client gets the contract.
    settings.DEBUG = debug

    response = client.get("/api/v1/placements/", HTTP_HOST="evil.example")

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "bad_request"
    page = client.get("/admin/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")  # a browser's page stays


def test_a_page_outside_the_api_keeps_djangos_debug_page(client, settings):
    settings.DEBUG = True

    response = client.get("/no-such-page")

    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_create_names_the_new_objects_url_in_location(client, operator):
    client.force_login(operator)

    made = client.post(
        "/api/v1/placements/", {"name": "feed", "channel": "dsp", "sizes": [[300, 250]]}, "application/json"
    )

    assert made.status_code == 201
    fetched = client.get(made["Location"])
    assert fetched.status_code == 200 and fetched.json()["id"] == made.json()["id"]


def test_page_size_chooses_the_rows_per_page_up_to_the_documented_maximum(client, operator, schema):
    for n in range(3):
        ProductFactory(sku=f"S-{n}")

    two = client.get("/api/v1/products/", {"page_size": 2}).json()
    capped = client.get("/api/v1/products/", {"page_size": PAGE_SIZE_MAX + 1000}).json()

    assert len(two["results"]) == 2 and two["count"] == 3 and two["next"]
    assert len(capped["results"]) == 3
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert parameters["page_size"]["schema"]["maximum"] == PAGE_SIZE_MAX


def test_the_campaign_list_filters_by_status_and_placement(client, operator):
    client.force_login(operator)
    copy = AdCopySet.objects.create(name="winter", titles=["Winter sale"])
    feed = PlacementFactory()
    live = CampaignFactory(copy=copy, status=Campaign.Status.LIVE)
    live.placements.add(feed)
    CampaignFactory(copy=copy, status=Campaign.Status.DRAFT)
    CampaignFactory(copy=copy, status=Campaign.Status.LIVE)

    by_status = client.get("/api/v1/campaigns/", {"status": "live"}).json()
    by_placement = client.get("/api/v1/campaigns/", {"placement": feed.pk}).json()
    refused = client.get("/api/v1/campaigns/", {"status": "sleeping"})

    assert {c["status"] for c in by_status["results"]} == {"live"} and by_status["count"] == 2
    assert [c["id"] for c in by_placement["results"]] == [live.pk]
    assert refused.status_code == 400 and "status" in refused.json()["extra"]["fields"]


def test_the_placement_and_product_lists_filter(client, operator):
    client.force_login(operator)
    video = PlacementFactory(format=Placement.Format.VIDEO)
    PlacementFactory(format=Placement.Format.IMAGE, active=False)
    ProductFactory(sku="COAT-1", category="outerwear")
    ProductFactory(sku="SHOE-1", category="shoes")

    videos = client.get("/api/v1/placements/", {"format": "video"}).json()
    inactive = client.get("/api/v1/placements/", {"active": "false"}).json()
    shoes = client.get("/api/v1/products/", {"category": "shoes"}).json()

    assert [p["id"] for p in videos["results"]] == [video.pk]
    assert [p["active"] for p in inactive["results"]] == [False]
    assert [p["sku"] for p in shoes["results"]] == ["SHOE-1"]


def test_the_template_list_filters_by_kind_and_status(client, designer):
    client.force_login(designer)
    video = Template.objects.create(name="clip", kind=Template.Kind.VIDEO, status=Template.Status.PUBLISHED)
    Template.objects.create(name="hero", kind=Template.Kind.IMAGE, status=Template.Status.PUBLISHED)
    Template.objects.create(name="draft clip", kind=Template.Kind.VIDEO)

    published_videos = client.get("/api/v1/templates/", {"kind": "video", "status": "published"}).json()

    assert [t["id"] for t in published_videos["results"]] == [video.pk]


def test_the_lifecycle_refusals_are_documented_on_their_operations(schema):
    # A generated client raises on an undocumented status; these are the refusals the services give.
    def statuses(path, method="post"):
        return set(schema["paths"][path][method]["responses"])

    assert {"200", "400", "409"} <= statuses("/api/v1/campaigns/{id}/go-live/")  # nothing_approved, campaign_ended
    assert {"200", "400"} <= statuses("/api/v1/campaigns/{id}/pause/")  # not_live
    assert {"202", "400", "409"} <= statuses("/api/v1/campaigns/{id}/generate")  # not ready, ended
    assert {"201", "200", "404", "409"} <= statuses("/api/v1/conversions")  # order_conflict
    assert {"200", "400", "413"} <= statuses("/api/v1/pools/{id}/scores/", "put")  # too many rows
    serve = schema["paths"]["/api/v1/serve/{placement_id}"]["get"]["responses"]
    assert "Retry-After" in serve["429"]["headers"]
    assert "Location" in schema["paths"]["/api/v1/campaigns/"]["post"]["responses"]["201"]["headers"]


def test_request_bodies_are_json_only_and_apart_from_the_answers_models(schema):
    # One content type per body, and read-only fields (id, status, webhook_secret, created_at) never asked for.
    bodies = [
        operation["requestBody"]
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    campaign_request = schema["components"]["schemas"]["CampaignRequest"]

    assert bodies and all(set(body["content"]) == {"application/json"} for body in bodies)
    assert not {"id", "status", "webhook_secret", "created_at"} & set(campaign_request["properties"])
    titles = schema["components"]["schemas"]["AdCopySetRequest"]["properties"]["titles"]
    assert titles["minItems"] == 1 and titles["items"]["minLength"] == 1


def test_lists_the_server_refuses_empty_say_so_and_bulk_items_are_typed(schema):
    # allow_empty=False on the server is minItems 1 in the schema; a bulk item is a product's create body.
    components = schema["components"]["schemas"]

    assert components["PoolScoresRequest"]["properties"]["scores"]["minItems"] == 1
    assert components["EventBatchRequest"]["properties"]["events"]["minItems"] == 1
    products = components["ProductBulkRequest"]["properties"]["products"]
    assert products["minItems"] == 1 and products["items"] == {"$ref": "#/components/schemas/ProductWriteRequest"}
