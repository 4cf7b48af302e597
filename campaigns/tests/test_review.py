"""The review gallery: grouped by product set and design family (its sizes side by side), best family first,
filtered, bulk approve and reject by creative or by family row."""

import re

import pytest

from campaigns.models import AdCopySet, Campaign, Creative
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Template, TemplateVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    version = TemplateVersion.objects.create(template=Template.objects.create(name="hero"), number=1, spec={})
    campaign = Campaign.objects.create(name="Winter", copy=AdCopySet.objects.create(name="a", titles=["x"]))
    for key, size, variant, family, score in [
        ("A-1", (300, 250), 0, "fam0a1", 81.0),
        ("A-1", (300, 250), 1, "fam1a1", 92.5),
        ("A-1", (728, 90), 0, "fam0a1", 77.0),
        ("A-1", (728, 90), 1, "fam1a1", 70.0),
        ("B-2", (300, 250), 0, "fam0b2", 65.0),
    ]:
        CreativeFactory(
            campaign=campaign, product_key=key, template_version=version, width=size[0], height=size[1],
            variant=variant, family=family, file=f"creatives/{key}-{variant}-{size[0]}.jpg",
            content_hash=f"{key}{variant}{size}", aesthetic_score=score,
            score_breakdown={"readability": 0.91, "harmony": 0.8}, state=Creative.State.PENDING,
            provenance={"copy_source": {"subtitle": f"{key}'s highlights"}},
        )  # fmt: skip
    return campaign


def _page(client, campaign, **params):
    return client.get(f"/campaigns/{campaign.pk}/review/", params)


def test_operator_sees_each_design_family_as_one_row_with_its_sizes_side_by_side(client, operator, campaign):
    client.force_login(operator)
    html = _page(client, campaign).content.decode()

    sections = re.findall(r'<section class="product-set"><h2>([^<]+)</h2>', html)
    assert sections == ["A-1", "B-2"]
    a1 = html[html.index(">A-1<") : html.index(">B-2<")]
    rows = re.findall(r'data-family="([^"]+)"', a1)
    assert rows == ["fam0a1", "fam1a1"]  # the family ranked first comes first
    first = a1[a1.index('data-family="fam0a1"') : a1.index('data-family="fam1a1"')]
    assert re.findall(r"(\d+)×(\d+) ·", first) == [("728", "90"), ("300", "250")]  # its sizes side by side
    assert "mean score 79.0" in first and "subtitle from A-1&#x27;s highlights" in first
    assert "readability 0.91" in a1  # the breakdown on hover


def test_filters_narrow_the_gallery(client, operator, campaign):
    client.force_login(operator)
    html = _page(client, campaign, size="728x90").content.decode()
    assert "728×90 ·" in html and "300×250 ·" not in html
    html = _page(client, campaign, min_score="90").content.decode()
    assert re.findall(r"(\d+)×(\d+) · (\d+\.\d)", html) == [("300", "250", "92.5")]


def test_approving_a_family_row_approves_all_its_sizes_and_nothing_else(client, operator, campaign):
    client.force_login(operator)
    family = Creative.objects.filter(family="fam1a1")
    html = _page(client, campaign).content.decode()
    rows = dict(
        re.findall(
            r'data-family="([^"]+)">\s*<p class="family-head"><label><input type="checkbox" name="row" value="([^"]+)"',
            html,
        )
    )
    row = rows["fam1a1"]
    assert sorted(row.split(",")) == sorted(str(pk) for pk in family.values_list("pk", flat=True))

    client.post(f"/campaigns/{campaign.pk}/review/", {"row": [row], "action": "approve"})

    assert set(family.values_list("state", flat=True)) == {"approved"}
    assert set(Creative.objects.exclude(family="fam1a1").values_list("state", flat=True)) == {"pending"}


def test_a_forged_row_cannot_approve_another_campaigns_creatives(client, operator, campaign):
    other = Campaign.objects.create(name="Other", copy=campaign.copy)
    foreign = ",".join(str(pk) for pk in Creative.objects.values_list("pk", flat=True)) + ",x,-1"
    client.force_login(operator)
    client.post(f"/campaigns/{other.pk}/review/", {"row": [foreign], "action": "approve"})
    assert set(Creative.objects.values_list("state", flat=True)) == {"pending"}


def test_bulk_approve_and_reject(client, operator, campaign):
    client.force_login(operator)
    a1 = list(Creative.objects.filter(product_key="A-1").values_list("pk", flat=True))
    response = client.post(f"/campaigns/{campaign.pk}/review/", {"creative": a1, "action": "approve"})
    assert response.status_code == 302
    assert set(Creative.objects.filter(pk__in=a1).values_list("state", flat=True)) == {"approved"}
    assert Creative.objects.get(product_key="B-2").state == "pending"
    client.post(f"/campaigns/{campaign.pk}/review/", {"creative": a1[:1], "action": "reject"})
    assert Creative.objects.get(pk=a1[0]).state == "rejected"


def test_other_campaigns_creatives_cannot_be_approved_through_this_page(client, operator, campaign):
    other = Campaign.objects.create(name="Other", copy=campaign.copy)
    foreign = Creative.objects.filter(campaign=campaign).first()
    client.force_login(operator)
    client.post(f"/campaigns/{other.pk}/review/", {"creative": [foreign.pk], "action": "approve"})
    foreign.refresh_from_db()
    assert foreign.state == "pending"


@pytest.mark.parametrize("role_user", ["designer", "analyst"], indirect=True)
def test_designers_and_analysts_may_not_review(client, role_user, campaign):
    client.force_login(role_user)
    assert _page(client, campaign).status_code == 403
    assert client.post(f"/campaigns/{campaign.pk}/review/", {"action": "approve"}).status_code == 403


def test_anonymous_users_are_sent_to_log_in(client, campaign):
    response = _page(client, campaign)
    assert response.status_code == 302 and "/login/" in response["Location"]
