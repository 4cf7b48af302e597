"""A display placement asks for an HTML ad tag: the image in a link through the signed click URL and
the impression pixel, every value escaped, the DSP's click and cache-busting macros where documented
(docs/tracking.md), and the tag's pixel and click counted like the JSON answer's."""

from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone

from analytics.models import Event, HourlyRollup
from analytics.services import rollups_build
from campaigns.api.throttling import rate_counts_forget
from campaigns.models import Placement
from campaigns.serving import placement_key_issue
from campaigns.tests.factories import CampaignFactory, CreativeFactory, PlacementFactory, ProductFactory

pytestmark = pytest.mark.django_db
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"


@pytest.fixture(autouse=True)
def clean(media):
    cache.clear()
    rate_counts_forget()


@pytest.fixture
def display():
    placement = PlacementFactory(sizes=[[300, 250]])
    campaign = CampaignFactory(landing_url="https://shop.example/p/1")
    campaign.placements.add(placement)
    product = ProductFactory(sku="YX-1", title="Down jacket")
    creative = CreativeFactory(campaign=campaign, product_key=product.sku, stored_file=b"jpeg")
    return placement, placement_key_issue(placement=placement), creative, product


class Tags(HTMLParser):
    """The fragment's elements in order: (tag, attributes, depth), parsed as a browser would."""

    def __init__(self, html: str):
        super().__init__()
        self.elements, self.depth, self.text = [], 0, ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), self.depth))
        if tag == "a":
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "a":
            self.depth -= 1

    def handle_data(self, data):
        self.text += data


def _tag(client, placement, key, **params):
    query = {"size": "300x250", "format": "html", **params}
    return client.get(f"/api/v1/serve/{placement.pk}", query, HTTP_X_PLACEMENT_KEY=key)


def test_format_html_answers_a_link_around_the_image_and_a_hidden_pixel(client, display):
    placement, key, creative, _ = display

    response = _tag(client, placement, key)

    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert "no-store" in response["Cache-Control"], "a tag is one serve: caching it would reuse its tokens"
    tags = Tags(response.content.decode())
    (a, link, _), (img, image, depth), (pixel_tag, pixel, pixel_depth) = tags.elements
    assert (a, img, depth, pixel_tag, pixel_depth) == ("a", "img", 1, "img", 0), "<a><img></a><img>"
    assert link["href"].startswith("http://testserver/t/c/") and link["target"] == "_blank"
    assert link["rel"] == "noopener"
    assert image["src"] == f"http://testserver{creative.file.url}"
    assert (image["width"], image["height"], image["alt"]) == ("300", "250", "Down jacket")
    assert pixel["src"].startswith("http://testserver/t/i/") and pixel["src"].endswith(".gif")
    assert (pixel["width"], pixel["height"], pixel["alt"]) == ("1", "1", "")
    assert tags.text == "", "nothing but the two images shows"


def test_accept_text_html_asks_for_the_same_and_no_accept_still_gets_json(client, display):
    placement, key, _, _ = display
    url = f"/api/v1/serve/{placement.pk}"

    html = client.get(url, {"size": "300x250"}, HTTP_X_PLACEMENT_KEY=key, HTTP_ACCEPT="text/html")
    plain = client.get(url, {"size": "300x250"}, HTTP_X_PLACEMENT_KEY=key)

    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert [tag for tag, _, _ in Tags(html.content.decode()).elements] == ["a", "img", "img"]
    assert plain["Content-Type"] == "application/json" and "creative_id" in plain.json()


def test_the_tags_pixel_and_click_are_the_signed_urls_the_tracking_endpoints_count(client, display):
    placement, key, creative, _ = display
    (_, link, _), _, (_, pixel, _) = Tags(_tag(client, placement, key, cb="[timestamp]").content.decode()).elements
    # The DSP fills in its cache buster before the browser loads the pixel.
    pixel_url = pixel["src"].replace("[timestamp]", "1733212800")

    seen = client.get(pixel_url, HTTP_USER_AGENT=BROWSER)
    clicked = client.get(urlsplit(link["href"]).path, HTTP_USER_AGENT=BROWSER)

    assert seen.status_code == 200 and seen["Content-Type"] == "image/gif"
    assert clicked.status_code == 302 and clicked["Location"] == "https://shop.example/p/1"
    assert sorted(Event.objects.filter(creative=creative).values_list("kind", flat=True)) == ["click", "impression"]
    now = timezone.now()
    rollups_build(start=now - timedelta(hours=1), end=now + timedelta(hours=1))
    row = HourlyRollup.objects.get(creative=creative, placement=placement)
    assert (row.impressions, row.clicks) == (1, 1), "both counted, net"


def test_a_hostile_product_title_cannot_change_the_fragment(client, display):
    placement, key, _, product = display
    product.title = HOSTILE
    product.save()

    body = _tag(client, placement, key).content.decode()

    assert "<script" not in body and "<img src=x" not in body
    tags = Tags(body)
    assert [tag for tag, _, _ in tags.elements] == ["a", "img", "img"], "no element smuggled in"
    assert tags.elements[1][1]["alt"] == HOSTILE, "the title shows as text, whole"


def test_an_unescaped_click_macro_comes_before_the_click_url_as_it_is(client, display):
    placement, key, _, _ = display

    body = _tag(client, placement, key, click_macro="%%CLICK_URL_UNESC%%", cb="%%CACHEBUSTER%%").content.decode()

    (_, link, _), _, (_, pixel, _) = Tags(body).elements
    assert link["href"].startswith("%%CLICK_URL_UNESC%%http://testserver/t/c/")
    assert pixel["src"].endswith(".gif?cb=%%CACHEBUSTER%%")
    # The macros stand in the markup literally, for the DSP to find and fill in.
    assert 'href="%%CLICK_URL_UNESC%%http://testserver/t/c/' in body and "?cb=%%CACHEBUSTER%%" in body


@pytest.mark.parametrize(
    ("macro", "escape"),
    [("%%CLICK_URL_ESC%%", None), ("${CLICK_URL_ENC}", None), ("https://dsp.example/c?r=", None), ("${X}", "true")],
)
def test_a_macro_expecting_an_escaped_destination_gets_the_click_url_percent_encoded(client, display, macro, escape):
    placement, key, creative, _ = display
    params = {"click_macro": macro, **({"click_escape": escape} if escape else {})}

    (_, link, _), _, _ = Tags(_tag(client, placement, key, **params).content.decode()).elements

    assert link["href"].startswith(macro + "http%3A%2F%2Ftestserver%2Ft%2Fc%2F")
    # What the DSP's redirect decodes is our click URL, which counts and lands.
    ours = unquote(link["href"].removeprefix(macro))
    assert client.get(urlsplit(ours).path, HTTP_USER_AGENT=BROWSER).status_code == 302
    assert Event.objects.filter(creative=creative, kind="click").count() == 1


@pytest.mark.parametrize(
    ("param", "value"),
    [("click_macro", "javascript:alert(1)"), ("click_macro", '%%A%%"'), ("cb", "<x>"), ("click_escape", "maybe")],
)
def test_a_macro_that_is_not_one_is_refused_before_anything_is_served(client, display, param, value):
    placement, key, _, _ = display

    response = _tag(client, placement, key, **{param: value})

    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert param in response.json()["extra"]["fields"]


def test_a_video_placement_is_refused_an_html_tag(client):
    placement = PlacementFactory(sizes=[[720, 1280]], format=Placement.Format.VIDEO)
    key = placement_key_issue(placement=placement)

    response = client.get(
        f"/api/v1/serve/{placement.pk}", {"size": "720x1280", "format": "html"}, HTTP_X_PLACEMENT_KEY=key
    )

    assert response.status_code == 400 and response.json()["extra"]["fields"]["format"]


def test_the_schema_documents_the_html_answer_and_its_parameters(client, operator):
    client.force_login(operator)

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    serve = schema["paths"]["/api/v1/serve/{placement_id}"]["get"]
    assert "text/html" in serve["responses"]["200"]["content"]
    parameters = {p["name"]: p for p in serve["parameters"]}
    assert "html" in parameters["format"]["schema"]["enum"]
    assert {"click_macro", "click_escape", "cb"} <= parameters.keys()
