"""The campaigns admin in people's terms: sizes as "1080×1080, 728×90", the webhook secret shown once."""

import pytest

from campaigns.forms import PlacementForm, SizesField, sizes_label
from campaigns.models import AdCopySet, Campaign, Placement

pytestmark = pytest.mark.django_db


def test_sizes_are_shown_and_typed_as_width_by_height():
    assert sizes_label([[1080, 1080], [728, 90]]) == "1080×1080, 728×90"
    field = SizesField()
    assert field.prepare_value([[1080, 1080], [728, 90]]) == "1080×1080, 728×90"
    assert field.clean("1080x1080, 728 × 90,") == [[1080, 1080], [728, 90]]
    assert field.clean("[[300, 250]]") == [[300, 250]]  # the stored form, pasted back
    with pytest.raises(Exception) as refused:
        field.clean("1080, 728x90")
    assert "“1080” is not a size" in str(refused.value)


def test_the_placement_form_stores_sizes_as_pairs_and_the_model_checks_their_range():
    form = PlacementForm(data={"name": "feed", "channel": "dsp", "sizes": "300×250, 728x90"})
    assert form.is_valid() or "sizes" not in form.errors, form.errors
    assert form.cleaned_data["sizes"] == [[300, 250], [728, 90]]
    too_small = PlacementForm(data={"name": "x", "channel": "dsp", "sizes": "10×10"})
    assert not too_small.is_valid() and "sizes" in too_small.errors


def test_the_admin_shows_the_webhook_secret_once_then_masked(client, operator):
    client.force_login(operator)
    campaign = Campaign.objects.create(name="Winter", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    Placement.objects.create(name="feed", channel="dsp", sizes=[[1080, 1080], [728, 90]])

    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert campaign.webhook_secret not in page and campaign.webhook_secret[-4:] in page
    assert "1080×1080, 728×90" in client.get("/admin/campaigns/placement/").content.decode()


def test_favicon_ico_leads_to_the_site_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith(".svg")
    assert client.get(response["Location"]).status_code in (200, 404)  # served by the static handler in production


def test_the_campaign_form_calls_the_search_breadth_design_families_not_candidates_per_size(client, operator):
    # The engine draws that many design families once per product set and lays each out at every size:
    # "candidates per size" read as that many separate looks at each size.
    client.force_login(operator)

    page = client.get("/admin/campaigns/campaign/add/").content.decode()

    assert '<label class="required" for="id_candidates_per_size">Design families drawn per product set:' in page
    assert "Candidates per size" not in page
