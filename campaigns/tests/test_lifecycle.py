"""A campaign's and a placement's life keeps their history and keeps serving (issue 19, item 6):
a live campaign regenerates on the air, an ended one stays ended until reopened, a placement with
traffic is archived rather than deleted."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache

from analytics.models import Event
from campaigns.api.throttling import rate_counts_forget
from campaigns.errors import CampaignNotReady
from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
from campaigns.services import (
    campaign_end,
    campaign_go_live,
    campaign_pause,
    creatives_review,
    generation_job_start,
    placement_archive,
    product_upsert,
)
from campaigns.serving import placement_key_issue
from campaigns.tests.factories import CampaignFactory, CreativeFactory, PlacementFactory
from synthesis.samples import product_photo
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


@pytest.fixture(autouse=True)
def clean():
    cache.clear()
    rate_counts_forget()


def _serve(client, placement, key):
    return client.get(f"/api/v1/serve/{placement.pk}", {"size": "300x250"}, HTTP_X_PLACEMENT_KEY=key)


def _product(sku: str, colour: tuple[int, int, int]):
    buf = io.BytesIO()
    product_photo(colour, size=300).image.convert("RGB").save(buf, format="JPEG")
    return product_upsert(sku=sku, title="羽绒服", price=Decimal("699.00"), image_data=buf.getvalue())


# --- Re-generating a live campaign --------------------------------------------------------------------------
@pytest.fixture
def live_generated(designer, django_capture_on_commit_callbacks):
    """A campaign generated once (one product, one size, one creative), approved, live, and a keyed placement."""
    template = template_publish(
        template=template_create(name="hero", spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    )
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]])
    copy = AdCopySet.objects.create(name="winter", titles=["冬季羽绒服 限时直降"])
    campaign = Campaign.objects.create(name="Winter", copy=copy, top_k=1, candidates_per_size=4)
    campaign.templates.add(template)
    campaign.placements.add(placement)
    campaign.products.add(_product("A-1", (178, 34, 52)))
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)
    creatives_review(creatives=list(campaign.creatives.all()), approve=True)
    campaign_go_live(campaign=campaign)
    return campaign, placement, placement_key_issue(placement=placement)


def test_regenerating_a_live_campaign_keeps_serving_its_approved_creatives(
    client, live_generated, django_capture_on_commit_callbacks
):
    # Must hold: a live campaign re-generated (here with a new product) stays live and the placement is
    # answered 200 with the approved creative throughout (never 404 no_creative); that creative's slot is
    # not remade (same row, same file), and the new creatives wait for review, unserved.
    campaign, placement, key = live_generated
    approved = campaign.creatives.get()
    before = _serve(client, placement, key)
    campaign.products.add(_product("A-2", (31, 58, 110)))

    with django_capture_on_commit_callbacks(execute=False) as tasks:
        job = generation_job_start(campaign=campaign)
    during = _serve(client, placement, key)
    for send in tasks:  # the job's tasks run now (eager), after the serve made while it was running
        send()
    after = [_serve(client, placement, key) for _ in range(5)]

    campaign.refresh_from_db()
    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and campaign.status == Campaign.Status.LIVE
    assert [r.status_code for r in (before, during, *after)] == [200] * 7
    assert {r.json()["creative_id"] for r in (before, during, *after)} == {approved.pk}
    kept = Creative.objects.get(pk=approved.pk)
    assert (kept.state, kept.file.name, kept.content_hash) == (
        Creative.State.APPROVED,
        approved.file.name,
        approved.content_hash,
    )
    new = campaign.creatives.exclude(pk=approved.pk)
    assert [(c.product_key, c.state) for c in new] == [("A-2", Creative.State.PENDING)]


def test_a_regenerated_creative_joins_the_draw_once_approved(
    client, live_generated, django_capture_on_commit_callbacks
):
    # Must hold: the new creative of a live campaign's re-run is served once approved, next to the old one.
    campaign, placement, key = live_generated
    campaign.products.add(_product("A-2", (31, 58, 110)))
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_start(campaign=campaign)
    new = campaign.creatives.get(product_key="A-2")

    creatives_review(creatives=[new], approve=True)
    served = {_serve(client, placement, key).json()["creative_id"] for _ in range(60)}

    assert served == set(campaign.creatives.values_list("pk", flat=True))


def test_regenerating_a_paused_campaign_leaves_it_paused(live_generated, django_capture_on_commit_callbacks):
    # Must hold: a paused campaign is held off the air on purpose; generating does not move it to review
    # (from where going live would need the operator again anyway) nor change what it will serve on resuming.
    campaign, _, _ = live_generated
    campaign_pause(campaign=campaign)

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_job_start(campaign=campaign)

    campaign.refresh_from_db()
    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE and campaign.status == Campaign.Status.PAUSED


# --- An ended campaign stays ended --------------------------------------------------------------------------
@pytest.fixture
def ended(operator):
    campaign = CampaignFactory(status=Campaign.Status.LIVE)
    CreativeFactory(campaign=campaign)
    return campaign_end(campaign=campaign)


def test_an_ended_campaign_cannot_go_live_again(client, operator, ended):
    # Must hold: go-live on an ended campaign is refused (409 campaign_ended) and it stays ended.
    client.force_login(operator)

    response = client.post(f"/api/v1/campaigns/{ended.pk}/go-live/")

    ended.refresh_from_db()
    assert (response.status_code, response.json()["code"]) == (409, "campaign_ended")
    assert ended.status == Campaign.Status.ENDED


def test_an_ended_campaign_cannot_be_regenerated(client, operator, ended):
    # Must hold: generating would take an ended campaign back through review to live; it is refused
    # (409) before anything is recorded, and the campaign stays ended.
    client.force_login(operator)

    response = client.post(f"/api/v1/campaigns/{ended.pk}/generate")

    ended.refresh_from_db()
    assert (response.status_code, response.json()["code"]) == (409, "campaign_ended")
    assert ended.status == Campaign.Status.ENDED and not GenerationJob.objects.exists()


def test_reopening_an_ended_campaign_pauses_it_and_go_live_resumes_it(client, operator, ended):
    # Must hold: reopen is the way back: an ended campaign with creatives comes back paused (not
    # serving), and go-live then puts it on the air.
    client.force_login(operator)

    reopened = client.post(f"/api/v1/campaigns/{ended.pk}/reopen/")
    live = client.post(f"/api/v1/campaigns/{ended.pk}/go-live/")

    assert (reopened.status_code, reopened.json()["status"]) == (200, "paused")
    assert (live.status_code, live.json()["status"]) == (200, "live")


def test_reopening_is_for_ended_campaigns_only_and_one_without_creatives_is_a_draft(client, operator):
    # Must hold: reopening a campaign that has not ended is refused (400 not_ended, nothing changes);
    # an ended campaign that never made a creative comes back as a draft (to be generated).
    client.force_login(operator)
    live = CampaignFactory(status=Campaign.Status.LIVE)
    empty = campaign_end(campaign=CampaignFactory(status=Campaign.Status.DRAFT))

    refused = client.post(f"/api/v1/campaigns/{live.pk}/reopen/")
    reopened = client.post(f"/api/v1/campaigns/{empty.pk}/reopen/")

    live.refresh_from_db()
    assert (refused.status_code, refused.json()["code"], live.status) == (400, "not_ended", Campaign.Status.LIVE)
    assert reopened.json()["status"] == "draft"


def test_the_admin_reopens_an_ended_campaign_and_offers_no_status_field(client, operator, ended):
    # Must hold: in the admin an ended campaign comes back through the Reopen action, never by
    # editing its status in the change form (the form has no status input).
    client.force_login(operator)

    page = client.get(f"/admin/campaigns/campaign/{ended.pk}/change/").content.decode()
    client.post("/admin/campaigns/campaign/", {"action": "reopen", "_selected_action": [ended.pk]})

    ended.refresh_from_db()
    assert 'name="status"' not in page
    assert ended.status == Campaign.Status.PAUSED


# --- Placements with traffic are archived, not deleted ------------------------------------------------------
@pytest.fixture
def trafficked(client):
    """A placement of a live campaign whose served creative's impression pixel was loaded (one event)."""
    placement = PlacementFactory()
    key = placement_key_issue(placement=placement)
    creative = CreativeFactory(stored_file=b"jpeg")
    creative.campaign.placements.add(placement)
    served = _serve(client, placement, key).json()
    assert client.get(served["impression_url"]).status_code == 200
    assert Event.objects.filter(placement=placement).count() == 1
    return placement, key


def test_a_placement_with_traffic_is_not_deleted_through_the_api(client, operator, trafficked):
    # Must hold: deleting a placement with recorded events is refused (409 placement_has_traffic),
    # and the placement and its events are kept for the dashboards.
    placement, _ = trafficked
    client.force_login(operator)

    response = client.delete(f"/api/v1/placements/{placement.pk}/")

    assert (response.status_code, response.json()["code"]) == (409, "placement_has_traffic")
    assert Placement.objects.filter(pk=placement.pk).exists()
    assert Event.objects.filter(placement=placement).count() == 1


def test_a_placement_with_traffic_is_not_deleted_through_the_admin(client, operator, trafficked):
    # Must hold: the admin's delete page (and the bulk delete) name the placement's traffic and delete nothing.
    placement, _ = trafficked
    client.force_login(operator)

    page = client.post(f"/admin/campaigns/placement/{placement.pk}/delete/", {"post": "yes"})
    bulk = client.post(
        "/admin/campaigns/placement/",
        {"action": "delete_selected", "_selected_action": [placement.pk], "post": "yes"},
    )

    assert "has recorded traffic" in page.content.decode() and "has recorded traffic" in bulk.content.decode()
    assert Placement.objects.filter(pk=placement.pk).exists()
    assert Event.objects.filter(placement=placement).count() == 1


def test_a_placement_without_traffic_is_still_deleted(client, operator):
    # Must hold: the refusal is about history; a placement nothing was recorded for is deleted (204).
    client.force_login(operator)
    placement = PlacementFactory()

    response = client.delete(f"/api/v1/placements/{placement.pk}/")

    assert response.status_code == 204 and not Placement.objects.filter(pk=placement.pk).exists()


def test_an_archived_placement_is_served_nothing_hidden_from_the_list_and_keeps_its_events(
    client, operator, trafficked
):
    # Must hold: archiving stops serving (403 placement_archived), leaves the placement out of the default
    # list (listed with ?archived=true, found by its id), and keeps its events; unarchiving serves again.
    placement, key = trafficked
    client.force_login(operator)

    archived = client.post(f"/api/v1/placements/{placement.pk}/archive/")
    served = _serve(client, placement, key)
    listed = [p["id"] for p in client.get("/api/v1/placements/").json()["results"]]
    listed_archived = [p["id"] for p in client.get("/api/v1/placements/?archived=true").json()["results"]]
    found = client.get(f"/api/v1/placements/{placement.pk}/")
    client.post(f"/api/v1/placements/{placement.pk}/unarchive/")
    served_again = _serve(client, placement, key)

    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    assert (served.status_code, served.json()["code"]) == (403, "placement_archived")
    assert placement.pk not in listed and listed_archived == [placement.pk] and found.status_code == 200
    assert Event.objects.filter(placement=placement).count() == 1
    assert served_again.status_code == 200


def test_the_admin_list_hides_archived_placements_unless_asked(client, operator):
    # Must hold: the admin's placement list shows the placements in use; archived ones under "Archived".
    client.force_login(operator)
    PlacementFactory(name="in use")
    placement_archive(placement=PlacementFactory(name="retired"))

    default = client.get("/admin/campaigns/placement/").content.decode()
    archived = client.get("/admin/campaigns/placement/?archived=yes").content.decode()

    assert "in use" in default and "retired" not in default
    assert "retired" in archived and "in use" not in archived


def test_generation_leaves_archived_placements_out():
    # Must hold: an archived placement is not a reason to make creatives (no sizes of its own).
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    campaign.placements.add(placement_archive(placement=PlacementFactory()))

    with pytest.raises(CampaignNotReady) as refused:
        generation_job_start(campaign=campaign)

    assert "add at least one placement" in refused.value.message


def test_the_campaign_form_offers_no_archived_placement_but_keeps_one_the_campaign_has(client, operator):
    # Must hold: an operator cannot pick a placement that would get nothing; editing a campaign that
    # still has an archived placement does not hide it (a save would then refuse it as an invalid choice).
    client.force_login(operator)
    PlacementFactory(name="feed in use")
    placement_archive(placement=PlacementFactory(name="retired banner"))
    kept = placement_archive(placement=PlacementFactory(name="archived but attached"))
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    campaign.placements.add(kept)

    new = client.get("/admin/campaigns/campaign/add/").content.decode()
    edit = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()

    assert "feed in use" in new and "retired banner" not in new and "archived but attached" not in new
    assert "archived but attached" in edit and "retired banner" not in edit
