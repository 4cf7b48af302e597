"""An operator generates a campaign from its page without the browser waiting for the job, watches the progress
bar move and is told when it is done; goes live, pauses and ends it from the review gallery, each confirmed;
and the campaign form refuses a live campaign with nothing approved and a template with no published version.

Jobs run as the embedded default runs them (no broker): on the live server's background thread.
"""

import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"
PASSWORD = "pw-operator-1"


def _jpeg(colour) -> bytes:
    from synthesis.samples import product_photo

    buf = io.BytesIO()
    product_photo(colour, size=400).image.save(buf, format="JPEG")
    return buf.getvalue()


def _template(name, *, publish=True):
    from templates_app.services import template_create, template_publish

    template = template_create(name=name, spec=json.loads((SHIPPED / "single-hero.json").read_text()))
    return template_publish(template=template) if publish else template


@pytest.fixture
def world(django_user_model, media):
    """An operator, a campaign of eight product sets that generation can make, and a draft-only one."""
    from django.contrib.auth.models import Group

    from accounts.roles import OPERATORS
    from campaigns.models import AdCopySet, Campaign, Placement
    from campaigns.services import product_upsert

    operator = django_user_model.objects.create_user(username="operator", password=PASSWORD, is_staff=True)
    operator.groups.add(Group.objects.get(name=OPERATORS))
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250], [728, 90]])
    copy = AdCopySet.objects.create(name="winter", titles=["冬季羽绒服 限时直降"], subtitles=["90% 白鹅绒"])
    campaign = Campaign.objects.create(name="Winter", copy=copy, top_k=1, candidates_per_size=48, auto_approve_score=0)
    campaign.templates.add(_template("hero"))
    campaign.placements.add(placement)
    # Eight product sets of about a second each: long enough for the bar (polled every second) to show a part done.
    colours = [(178, 34, 52), (31, 58, 110), (40, 120, 60), (200, 150, 30)]
    colours += [(120, 40, 140), (20, 130, 140), (90, 90, 90), (230, 110, 40)]
    for i, colour in enumerate(colours):
        product = product_upsert(sku=f"A-{i}", title="羽绒服", price=Decimal("699"), image_data=_jpeg(colour))
        campaign.products.add(product)
    draft_only = Campaign.objects.create(name="Spring", copy=copy)
    draft_only.templates.add(_template("hero draft", publish=False))
    draft_only.products.add(product)
    draft_only.placements.add(placement)
    return campaign, draft_only


def _log_in(page, base, next_url):
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def _message(page) -> str:
    return page.locator("ul.messagelist li, ul.messages li").last.inner_text()


def test_generate_never_blocks_and_the_page_says_when_it_is_done(live_server, page, csp_violations, settings, world):
    from campaigns.models import Campaign, GenerationJob
    from creativeadmin.background import background_wait

    settings.ROOT_URLCONF = "tests.browser.media_urls"
    settings.CREATIVE_JOBS_IN_BACKGROUND = True  # the embedded default: no broker, a background thread
    campaign, _ = world
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _log_in(page, live_server.url, f"/admin/campaigns/campaign/{campaign.pk}/change/")

    # Generate: the page comes back at once, saying the job started, with its progress bar
    started = time.monotonic()
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector("progress[data-job]")
    answered = time.monotonic() - started
    job = GenerationJob.objects.get(campaign=campaign)
    state_when_answered = job.state
    assert "generation job" in _message(page) and "started (8 product set(s))" in _message(page)
    seen, generating_shot = [], False
    while not page.locator("[data-job-done]").is_visible():
        seen.append(page.eval_on_selector("progress[data-job]", "bar => bar.value"))
        if 0 < seen[-1] < 1 and not generating_shot:
            page.screenshot(path=str(SCREENSHOTS / "campaign-generating.png"), full_page=True)
            generating_shot = True
        assert time.monotonic() - started < 180, f"no 'done' message; progress seen {seen}"
        page.wait_for_timeout(250)
    page.screenshot(path=str(SCREENSHOTS / "campaign-generated.png"), full_page=True)
    done_note = page.locator("[data-job-done]").inner_text()
    assert background_wait(timeout=60)

    assert answered < 3, f"Generate took {answered:.1f} s to answer"
    assert state_when_answered == GenerationJob.State.RUNNING, "the job had finished before the page came back"
    assert any(0 < value < 1 for value in seen), f"the bar never showed a part done: {seen}; {done_note}"
    assert done_note.startswith(f"Generation job {job.pk} is done: 8 of 8 product set(s) made")
    assert page.eval_on_selector("progress[data-job]", "bar => bar.value") == 1
    # the page shows the campaign's new status (the form has none to save back: it changes through the buttons)
    assert page.locator(".campaign-status strong").inner_text() == "Review"
    assert page.locator("#id_status").count() == 0
    assert page.get_by_role("button", name="Generate").is_enabled()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.REVIEW

    # The review gallery's buttons: go live, pause, end, each confirmed
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/review/")
    page.get_by_role("button", name="Go live").click()
    assert "Winter is live: its " in _message(page) and page.url.endswith(f"/campaigns/{campaign.pk}/review/")
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    page.screenshot(path=str(SCREENSHOTS / "review-gallery-live.png"), full_page=True)
    page.get_by_role("button", name="Pause").click()
    assert _message(page) == "Winter is paused: nothing of it is served until it goes live again."
    page.get_by_role("button", name="End").click()
    assert _message(page) == "Winter has ended: it is no longer served; its creatives and statistics are kept."
    assert page.locator(".campaign-status strong").inner_text() == "Ended"
    assert csp_violations == []


def test_the_campaign_form_refuses_what_cannot_serve(live_server, page, csp_violations, world):
    _, draft_only = world
    _log_in(page, live_server.url, f"/admin/campaigns/campaign/{draft_only.pk}/change/")

    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")

    errors = page.locator(".errorlist").all_inner_texts()
    page.screenshot(path=str(SCREENSHOTS / "campaign-form-refused.png"), full_page=True)
    assert any("“hero draft” has no published version" in e for e in errors), errors
    # Live is a button, not a form value: with nothing approved it refuses and says why.
    page.get_by_role("button", name="Go live").click()
    assert "no approved creative" in _message(page)
    draft_only.refresh_from_db()
    assert draft_only.status == "draft"
    assert csp_violations == []
