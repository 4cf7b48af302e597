"""The campaign's buttons (Generate, Go live, Pause, End) on its admin page and its review gallery: each runs
its service and says what happened; and the campaign form refuses states that cannot serve."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.messages import get_messages

from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
from campaigns.services import product_upsert
from campaigns.tests.factories import CreativeFactory
from synthesis.samples import product_photo
from templates_app.models import Template, TemplateVersion
from templates_app.services import template_create, template_publish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def _hero(name="hero", publish=True) -> Template:
    template = template_create(name=name, spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    return template_publish(template=template) if publish else template


@pytest.fixture
def campaign(designer):
    """A small campaign generation can make: one product, one size, one template."""
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]])
    campaign = Campaign.objects.create(
        name="Winter",
        copy=AdCopySet.objects.create(name="winter", titles=["冬季羽绒服"]),
        top_k=1,
        candidates_per_size=4,
    )
    campaign.templates.add(_hero())
    campaign.placements.add(placement)
    buf = io.BytesIO()
    product_photo((178, 34, 52), size=300).image.save(buf, format="JPEG")
    campaign.products.add(product_upsert(sku="A-1", title="羽绒服", price=Decimal("699"), image_data=buf.getvalue()))
    return campaign


def _approved_creative(campaign, state=Creative.State.APPROVED):
    version = campaign.templates.get().current_version
    return CreativeFactory(
        campaign=campaign, product_key="A-1", template_version=version, file="creatives/a.jpg", content_hash="a",
        aesthetic_score=70.0, state=state,
    )  # fmt: skip


def _press(client, campaign, button, **body):
    return client.post(f"/admin/campaigns/campaign/{campaign.pk}/{button}/", body)


def _said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_generate_button_says_what_is_missing(client, operator, campaign):
    campaign.placements.clear()
    client.force_login(operator)

    response = _press(client, campaign, "generate")

    assert "Winter cannot be generated yet: add at least one placement." in _said(response)
    assert not GenerationJob.objects.exists()


def test_go_live_button_says_the_campaign_is_live(client, operator, campaign):
    _approved_creative(campaign)
    client.force_login(operator)

    response = _press(client, campaign, "go-live")

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LIVE
    assert _said(response) == ["Winter is live: its 1 approved creative(s) are served."]


def test_go_live_with_nothing_approved_is_refused_with_the_reason(client, operator, campaign):
    _approved_creative(campaign, state=Creative.State.PENDING)
    client.force_login(operator)

    response = _press(client, campaign, "go-live")

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert _said(response) == ["Winter has no approved creative to serve yet."]


def test_pause_and_end_buttons_say_what_they_did(client, operator, campaign):
    _approved_creative(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LIVE)
    client.force_login(operator)

    paused = _press(client, campaign, "pause")
    ended = _press(client, campaign, "end")

    campaign.refresh_from_db()
    assert _said(paused) == ["Winter is paused: nothing of it is served until it goes live again."]
    assert _said(ended)[-1:] == ["Winter has ended: it is no longer served; its creatives and statistics are kept."]
    assert campaign.status == Campaign.Status.ENDED


def test_a_button_pressed_in_the_review_gallery_goes_back_there(client, operator, campaign):
    _approved_creative(campaign)
    client.force_login(operator)

    response = _press(client, campaign, "go-live", next=f"/campaigns/{campaign.pk}/review/?state=approved")

    assert response["Location"] == f"/campaigns/{campaign.pk}/review/?state=approved"


def test_a_button_never_sends_the_browser_to_another_site(client, operator, campaign):
    client.force_login(operator)

    response = _press(client, campaign, "end", next="https://evil.example.com/")

    assert response["Location"] == f"/admin/campaigns/campaign/{campaign.pk}/change/"


def test_a_button_is_a_post(client, operator, campaign):
    client.force_login(operator)

    response = client.get(f"/admin/campaigns/campaign/{campaign.pk}/end/")

    campaign.refresh_from_db()
    assert response.status_code == 405 and campaign.status == Campaign.Status.DRAFT


def test_the_campaign_page_and_the_gallery_show_the_buttons_and_the_latest_job(client, operator, campaign):
    job = GenerationJob.objects.create(
        campaign=campaign, product_sets_total=4, completed_sets=["A-1"], state=GenerationJob.State.RUNNING
    )
    client.force_login(operator)

    for url in (f"/admin/campaigns/campaign/{campaign.pk}/change/", f"/campaigns/{campaign.pk}/review/"):
        html = client.get(url).content.decode()

        for button in ("generate", "go-live", "pause", "end"):
            assert f'formaction="/admin/campaigns/campaign/{campaign.pk}/{button}/"' in html, (url, button)
        assert f'<progress data-job="{job.pk}" data-job-state="running" value="0.250"' in html, url
        assert "campaigns/job_progress.js" in html, url


def test_the_list_actions_say_what_they_did_too(client, operator, campaign):
    _approved_creative(campaign)
    client.force_login(operator)

    response = client.post(
        "/admin/campaigns/campaign/", {"action": "go_live", "_selected_action": [campaign.pk]}, follow=True
    )

    assert "Winter is live: its 1 approved creative(s) are served." in [str(m) for m in response.context["messages"]]


# --- The form refuses states that cannot serve ------------------------------------------------------------
def _form(campaign, **changes) -> dict:
    data = {
        "name": campaign.name, "status": campaign.status, "copy": campaign.copy_id,
        "products": [p.pk for p in campaign.products.all()], "templates": [t.pk for t in campaign.templates.all()],
        "placements": [p.pk for p in campaign.placements.all()], "products_per_creative": 1, "top_k": 1,
        "candidates_per_size": 4, "seed": 0,
    }  # fmt: skip
    return {**data, **changes}


def _errors(response) -> str:
    assert response.status_code == 200, "the form was saved"
    return str(response.context["adminform"].form.errors)


def test_the_form_cannot_put_a_campaign_live_its_status_changes_through_the_buttons(client, operator, campaign):
    """A campaign that cannot serve is never saved as live: the form has no status to set (a posted one is
    ignored), Go live refuses with nothing approved, and the model refuses it on every other path."""
    from django.core.exceptions import ValidationError

    _approved_creative(campaign, state=Creative.State.REJECTED)
    client.force_login(operator)

    client.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", _form(campaign, status="live"))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    response = client.post(f"/admin/campaigns/campaign/{campaign.pk}/go-live/", follow=True)
    assert "no approved creative" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    campaign.status = Campaign.Status.LIVE
    with pytest.raises(ValidationError, match="approved creative"):
        campaign.full_clean()


def test_the_form_refuses_a_template_with_no_published_version(client, operator, campaign):
    draft = _hero("hero draft", publish=False)
    client.force_login(operator)

    response = client.post(
        f"/admin/campaigns/campaign/{campaign.pk}/change/",
        _form(campaign, templates=[*campaign.templates.values_list("pk", flat=True), draft.pk]),
    )

    assert "“hero draft” has no published version" in _errors(response)
    assert list(campaign.templates.values_list("name", flat=True)) == ["hero"]


def test_an_archived_template_counts_as_unpublished(campaign):
    from campaigns.selectors import template_published_version

    template = campaign.templates.get()
    Template.objects.filter(pk=template.pk).update(status=Template.Status.ARCHIVED)
    template.refresh_from_db()

    assert template_published_version(template=template) is None
    assert isinstance(template_published_version(template=_hero("other")), TemplateVersion)
