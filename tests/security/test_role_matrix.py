"""Who may use what: every route of the site x every actor x method, asserted from one table (issues 5 and 8).

The actors are the three roles of accounts.roles (a staff user in each group), an anonymous
visitor and a placement's server sending its API key (`X-Placement-Key`) and no session.

Each row of ROLE_MATRIX is (method, path, one expected answer per actor). A path names the
objects of the `world` fixture in braces ({published}, {draft}, {placement}...). An answer is
a status code, or LOGIN: a 302 to the login page. A write the actor may not make must leave
every row of the database as it was. A write the actor may make is sent in full where the
row says `effect=True` (deletes, actions, key issue...) and must then change something; the
create and edit forms are sent empty, because what a valid body does is the apps' own tests'
business: getting the form back with its errors (200 in the admin, 400 in the API) is how
"allowed" shows there.

The admin pages of a model follow from what each role may do with it (ADMIN_MODELS); the
rest of the site is listed row by row. test_every_route_has_a_row walks the URL resolver, so
a new route fails the suite until someone decides here who may use it.
"""

import copy
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core import signing
from django.db import transaction
from django.test import Client
from django.test.client import ClientHandler
from django.urls import get_resolver, resolve
from django.urls.resolvers import URLPattern, URLResolver
from django_celery_results.models import GroupResult, TaskResult

from accounts.roles import ANALYSTS, DESIGNERS, OPERATORS
from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement, PoolEntry, Product, ProductPool
from campaigns.serving import TRACKING_SALT, placement_key_issue
from campaigns.tests.factories import CreativeFactory
from templates_app.models import Asset, Brand, Font, Template, TemplateVersion

pytestmark = pytest.mark.django_db

SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"
ACTORS = ("designer", "operator", "analyst", "anonymous", "placement")
LOGIN = "login"  # 302 to the login page
REFUSED = {LOGIN, 401, 403, 404, 405}


@dataclass(frozen=True)
class Ignored:
    """The admin's answer to an action the user is not offered: `status`, and nothing changed."""

    status: int

    def __repr__(self) -> str:
        return f"Ignored({self.status})"


NOT_OFFERED = Ignored(302)  # "No action selected": back to the list
NO_ACTIONS = Ignored(200)  # the user has no action on this list at all: the list page again
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expected: dict[str, int | str]
    body: dict | None = None
    effect: bool = False  # an allowed write must change a stored row
    bugs: dict[str, str] = field(default_factory=dict)  # actor -> why the answer is known to be wrong
    note: str = ""  # tells apart rows of one method and path

    @property
    def id(self) -> str:
        action = self.body.get("action") if isinstance(self.body, dict) else None
        return " ".join(filter(None, (self.method, self.path, action and f"action={action}", self.note)))


def R(method, path, designer, operator, analyst, anonymous, placement, *, body=None, effect=False, note=""):
    cells = dict(zip(ACTORS, (designer, operator, analyst, anonymous, placement), strict=True))
    return Row(method, path, cells, body, effect, note=note)


# --- The admin: what each role may do with each registered model ------------------------------------------
# "v" view, "a" add, "c" change, "d" delete; the object is the one its change and delete pages open.
ADMIN_MODELS = [
    # model path,                          object,          designer, operator, analyst
    ("templates_app/brand",                "{brand}",       "vacd",   "v",      ""),
    ("templates_app/font",                 "{font}",        "vacd",   "v",      ""),
    ("templates_app/asset",                "{asset}",       "vacd",   "v",      ""),
    ("templates_app/template",             "{published}",   "vacd",   "v",      ""),
    ("campaigns/product",                  "{product}",     "",       "vacd",   ""),
    ("campaigns/placement",                "{placement}",   "",       "vacd",   ""),
    ("campaigns/adcopyset",                "{copy}",        "",       "vacd",   ""),
    ("campaigns/campaign",                 "{campaign}",    "",       "vacd",   ""),
    ("campaigns/generationjob",            "{job}",         "",       "v",      ""),
    ("campaigns/creative",                 "{creative}",    "",       "vc",     ""),
    ("campaigns/productpool",              "{pool}",        "",       "vacd",   ""),
    ("campaigns/poolentry",                "{entry}",       "",       "vacd",   ""),
    ("accounts/userapikey",                "{api_key_pk}",  "vac",    "vac",    "vac"),  # rows: PERSONAL_ADMIN_ROWS
    ("auth/user",                          "{user}",        "",       "",       ""),
    ("auth/group",                         "{group}",       "",       "",       ""),
    ("django_celery_results/taskresult",   "{task}",        "",       "",       ""),
    ("django_celery_results/groupresult",  "{groupresult}", "",       "",       ""),
]  # fmt: skip
# Delete pages use an object nothing protects or cascades to: the published template and the campaign have
# creatives (a row below deletes the campaign with them), the copy in use is PROTECTed.
ADMIN_DELETE_OBJECT = {
    "templates_app/template": "{draft}",
    "campaigns/adcopyset": "{spare_copy}",
    "campaigns/campaign": "{empty_campaign}",
}


def _admin_rows(model: str, obj: str, *roles: str) -> list[Row]:
    def cell(letter, allowed, refused=403):
        return [allowed if letter in may else refused for may in roles]

    base = f"/admin/{model}/"
    dead = obj if model not in ADMIN_DELETE_OBJECT else ADMIN_DELETE_OBJECT[model]
    see = [200 if may else 403 for may in roles]  # change permission implies view in the admin
    return [
        R("GET", base, *see, LOGIN, LOGIN),
        R("GET", f"{base}add/", *cell("a", 200), LOGIN, LOGIN),
        R("POST", f"{base}add/", *cell("a", 200), LOGIN, LOGIN, body={}),
        R("GET", f"{base}{obj}/change/", *see, LOGIN, LOGIN),
        R("POST", f"{base}{obj}/change/", *cell("c", 200), LOGIN, LOGIN, body={}),
        R("GET", f"{base}{obj}/history/", *see, LOGIN, LOGIN),
        R("GET", f"{base}{dead}/delete/", *cell("d", 200), LOGIN, LOGIN),
        R("POST", f"{base}{dead}/delete/", *cell("d", 302), LOGIN, LOGIN, body={"post": "yes"}, effect=True),
    ]


def _action(model: str, action: str, obj: str, *cells) -> Row:
    body = {"action": action, "_selected_action": [obj], "post": "yes"}  # "post": the bulk delete's confirmation
    return R("POST", f"/admin/{model}/", *cells, body=body, effect=True)


# An admin action the user may not run is not offered; naming it anyway is answered with the list
# again (NOT_OFFERED) or, when the user has no action on that list at all, the list page (NO_ACTIONS).
# Everyone has their own API keys and sees only those: another person's key answers as if it did not
# exist (the admin's redirect to its index), and nobody deletes one (revoked keys are kept, for the record).
PERSONAL = {"accounts/userapikey"}
KEY = "/admin/accounts/userapikey/"
PERSONAL_ADMIN_ROWS = [
    R("GET",  KEY,                                  200, 200, 200, LOGIN, LOGIN),
    R("GET",  f"{KEY}add/",                         200, 200, 200, LOGIN, LOGIN),
    R("POST", f"{KEY}add/",                         200, 200, 200, LOGIN, LOGIN, body={}),
    R("GET",  f"{KEY}{{api_key_pk}}/change/",       302, 200, 302, LOGIN, LOGIN),
    R("POST", f"{KEY}{{api_key_pk}}/change/",       302, 200, 302, LOGIN, LOGIN, body={}),
    R("GET",  f"{KEY}{{api_key_pk}}/history/",      302, 200, 302, LOGIN, LOGIN),
    R("GET",  f"{KEY}{{api_key_pk}}/delete/",       403, 403, 403, LOGIN, LOGIN),
    R("POST", f"{KEY}{{api_key_pk}}/delete/",       403, 403, 403, LOGIN, LOGIN, body={"post": "yes"}),
]  # fmt: skip

ADMIN_ROWS = [
    *[row for model, obj, *roles in ADMIN_MODELS if model not in PERSONAL for row in _admin_rows(model, obj, *roles)],
    *PERSONAL_ADMIN_ROWS,
    # Operators see published templates only: a draft's page answers as if it did not exist (the admin's
    # redirect to its index), never the draft.
    R("GET",  "/admin/templates_app/template/{draft}/change/", 200, 302, 403, LOGIN, LOGIN),
    # A campaign with creatives: deleting it would delete creatives, which operators may not delete.
    R("POST", "/admin/campaigns/campaign/{campaign}/delete/", 403, 403, 403, LOGIN, LOGIN, body={"post": "yes"}),
    # The admin index sends analysts (nothing to edit there) on to the dashboards.
    R("GET",  "/admin/",                        200, 200, 302, LOGIN, LOGIN),
    R("GET",  "/admin/templates_app/",          200, 200, 404, LOGIN, LOGIN),
    R("GET",  "/admin/campaigns/",              404, 200, 404, LOGIN, LOGIN),
    R("GET",  "/admin/auth/user/{user}/password/",    403, 403, 403, LOGIN, LOGIN),
    R("POST", "/admin/auth/user/{user}/password/",    403, 403, 403, LOGIN, LOGIN, body={}),
    R("GET",  "/admin/templates_app/template/import-psd/", 200, 403, 403, LOGIN, LOGIN),
    R("POST", "/admin/templates_app/template/import-psd/", 200, 403, 403, LOGIN, LOGIN, body={}),
    R("GET",  "/admin/campaigns/product/import/", 403, 200, 403, LOGIN, LOGIN),
    R("POST", "/admin/campaigns/product/import/", 403, 200, 403, LOGIN, LOGIN, body={}),
    # Custom actions (and the stock bulk delete), each on an object it changes.
    _action("templates_app/template", "publish", "{video_draft}",   302, NO_ACTIONS, 403, LOGIN, LOGIN),
    _action("templates_app/template", "archive", "{published}",     302, NO_ACTIONS, 403, LOGIN, LOGIN),
    _action("templates_app/template", "duplicate", "{published}",   302, NO_ACTIONS, 403, LOGIN, LOGIN),
    _action("templates_app/template", "delete_selected", "{draft}", 302, NO_ACTIONS, 403, LOGIN, LOGIN),
    _action("campaigns/placement", "issue_key", "{placement}",      403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/placement", "revoke_key", "{placement}",     403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/placement", "delete_selected", "{other_placement}", 403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/placement", "archive", "{placement}",        403, 302, 403, LOGIN, LOGIN),
    # Archived placements are listed (and so selected) under the list's "Archived" filter.
    R("POST", "/admin/campaigns/placement/?archived=yes", 403, 302, 403, LOGIN, LOGIN,
      body={"action": "unarchive", "_selected_action": ["{archived_placement}"], "post": "yes"}, effect=True),
    _action("campaigns/campaign", "generate", "{campaign}",         403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/campaign", "go_live", "{ready_campaign}",    403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/campaign", "pause", "{campaign}",            403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/campaign", "end", "{ready_campaign}",        403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/campaign", "reopen", "{ended_campaign}",     403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/campaign", "rotate_webhook_secret", "{campaign}", 403, 302, 403, LOGIN, LOGIN),
    # A test ping stores nothing (the world's campaign has no webhook URL: the operator is told so).
    R("POST", "/admin/campaigns/campaign/", 403, 302, 403, LOGIN, LOGIN,
      body={"action": "webhook_test", "_selected_action": ["{campaign}"]}),
    # The campaign page's (and review gallery's) buttons: those who may change campaigns; POST only.
    R("POST", "/admin/campaigns/campaign/{campaign}/generate/",       403, 302, 403, LOGIN, LOGIN, effect=True),
    R("POST", "/admin/campaigns/campaign/{ready_campaign}/go-live/",  403, 302, 403, LOGIN, LOGIN, effect=True),
    R("POST", "/admin/campaigns/campaign/{campaign}/pause/",          403, 302, 403, LOGIN, LOGIN, effect=True),
    R("POST", "/admin/campaigns/campaign/{ready_campaign}/end/",      403, 302, 403, LOGIN, LOGIN, effect=True),
    R("GET",  "/admin/campaigns/campaign/{campaign}/generate/",       405, 405, 405, LOGIN, LOGIN),
    R("GET",  "/admin/campaigns/campaign/{campaign}/go-live/",        405, 405, 405, LOGIN, LOGIN),
    R("GET",  "/admin/campaigns/campaign/{campaign}/pause/",          405, 405, 405, LOGIN, LOGIN),
    R("GET",  "/admin/campaigns/campaign/{campaign}/end/",            405, 405, 405, LOGIN, LOGIN),
    R("POST", "/admin/campaigns/campaign/{ended_campaign}/reopen/",   403, 302, 403, LOGIN, LOGIN, effect=True),
    R("GET",  "/admin/campaigns/campaign/{campaign}/reopen/",         405, 405, 405, LOGIN, LOGIN),
    _action("campaigns/creative", "reject", "{creative}",           403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/creative", "approve", "{pending_creative}",  403, 302, 403, LOGIN, LOGIN),
    _action("campaigns/creative", "delete_selected", "{creative}",  403, NOT_OFFERED, 403, LOGIN, LOGIN),
    _action("campaigns/generationjob", "delete_selected", "{job}",  403, NO_ACTIONS, 403, LOGIN, LOGIN),
    _action("campaigns/product", "delete_selected", "{product}",    403, 302, 403, LOGIN, LOGIN),
]  # fmt: skip


# --- The operators' API: one viewset per model ----------------------------------------------------------
def _viewset_rows(base: str, obj: str, rename: dict, operator_may: bool = True) -> list[Row]:
    """List, create, read, replace, edit and delete: operators only (empty bodies: 400 = allowed to try)."""

    def cells(allowed):
        return (403, allowed if operator_may else 403, 403, 401, 401)  # no credentials: 401 asks for a key

    detail = f"{base}{obj}/"
    return [
        R("GET", base, *cells(200)),
        R("POST", base, *cells(400), body={}),
        R("GET", detail, *cells(200)),
        R("PUT", detail, *cells(400), body={}),
        R("PATCH", detail, *cells(200), body=rename, effect=True),
        R("DELETE", detail, *cells(204), effect=True),
    ]


API_ROWS = [
    *_viewset_rows("/api/v1/products/", "{product_sku}", {"title": "Renamed"}),
    *_viewset_rows("/api/v1/ad-copy/", "{spare_copy}", {"name": "Renamed"}),
    *_viewset_rows("/api/v1/placements/", "{placement}", {"name": "Renamed"}),
    *_viewset_rows("/api/v1/campaigns/", "{empty_campaign}", {"name": "Renamed"}),
    # A campaign with creatives is ended, never deleted: its creatives carry the tracked events.
    R("DELETE", "/api/v1/campaigns/{campaign}/",       403, 409, 403, 401, 401),
    *_viewset_rows("/api/v1/pools/", "{pool}", {"name": "Renamed"}),
    R("POST", "/api/v1/products/bulk",                   403, 400, 403, 401, 401, body={"products": [{}]}),
    R("POST", "/api/v1/placements/{placement}/issue-key/", 403, 201, 403, 401, 401, effect=True),
    R("POST", "/api/v1/placements/{placement}/revoke-key/", 403, 200, 403, 401, 401, effect=True),
    R("POST", "/api/v1/placements/{placement}/archive/",  403, 200, 403, 401, 401, effect=True),
    R("POST", "/api/v1/placements/{archived_placement}/unarchive/", 403, 200, 403, 401, 401, effect=True),
    R("POST", "/api/v1/campaigns/{ready_campaign}/go-live/", 403, 200, 403, 401, 401, effect=True),
    R("POST", "/api/v1/campaigns/{campaign}/pause/",     403, 200, 403, 401, 401, effect=True),
    R("POST", "/api/v1/campaigns/{ready_campaign}/end/",   403, 200, 403, 401, 401, effect=True),
    R("POST", "/api/v1/campaigns/{ended_campaign}/reopen/", 403, 200, 403, 401, 401, effect=True),
    R("POST", "/api/v1/campaigns/{campaign}/rotate-webhook-secret/", 403, 200, 403, 401, 401, effect=True),
    # A test ping stores nothing; the world's campaign has no webhook URL (400 no_webhook: allowed to try).
    R("POST", "/api/v1/campaigns/{campaign}/webhook-test", 403, 400, 403, 401, 401),
    R("POST", "/api/v1/campaigns/{campaign}/generate",   403, 202, 403, 401, 401, effect=True),
    R("PUT",  "/api/v1/pools/{pool}/scores/",            403, 200, 403, 401, 401,
      body={"scores": [{"sku": "{product_sku}", "score": 9.5}]}, effect=True),
    R("GET",  "/api/v1/jobs/{job}",                      403, 200, 403, 401, 401),
    # Creatives: as in the review gallery, operators see and review them (view_ / change_creative);
    # designers and analysts neither.
    R("GET",  "/api/v1/creatives/?campaign={campaign}",  403, 200, 403, 401, 401),
    R("GET",  "/api/v1/creatives/{creative}/",           403, 200, 403, 401, 401),
    R("POST", "/api/v1/creatives/review",                403, 200, 403, 401, 401,
      body={"action": "approve", "ids": ["{pending_creative}"]}, effect=True),
    R("POST", "/api/v1/creatives/review",                403, 200, 403, 401, 401,
      body={"action": "reject", "filter": {"campaign": "{campaign}", "state": "approved"}}, effect=True,
      note="by filter"),
    # Templates: designers see all, operators the published ones (a draft is not found), analysts nothing.
    R("GET",  "/api/v1/templates/",                      200, 200, 403, 401, 401),
    R("GET",  "/api/v1/templates/{published}/",          200, 200, 403, 401, 401),
    R("GET",  "/api/v1/templates/{draft}/",              200, 404, 403, 401, 401),
    R("GET",  "/api/v1/templates/{published}/versions/", 200, 200, 403, 401, 401),
    R("GET",  "/api/v1/templates/{draft}/versions/",     200, 404, 403, 401, 401),
    R("GET",  "/api/v1/templates/{published}/versions/1/", 200, 200, 403, 401, 401),
    R("GET",  "/api/v1/templates/{draft}/versions/1/",   200, 404, 403, 401, 401),
    R("POST", "/api/v1/templates/{published}/preview",   200, 200, 403, 401, 401, body="{preview_body}"),
    R("POST", "/api/v1/templates/{draft}/preview",       200, 404, 403, 401, 401, body="{preview_body}"),
    # Publishing pins the version campaigns use: designers only, as the admin's Publish action.
    R("POST", "/api/v1/templates/{published}/publish",   200, 403, 403, 401, 401, body={"version": 1}, effect=True),
    R("POST", "/api/v1/templates/{draft}/publish",       404, 403, 403, 401, 401, body={"version": 9}),
    # Placements' servers: their key, nothing else (401 asks for it); another placement is not found.
    R("GET",  "/api/v1/serve/{placement}?size=300x250",  401, 401, 401, 401, 200),
    R("GET",  "/api/v1/serve/{other_placement}?size=300x250", 401, 401, 401, 401, 404),
    R("GET",  "/api/v1/serve/{placement}?size=300x250&format=html", 401, 401, 401, 401, 200),
    R("POST", "/api/v1/conversions",                     401, 401, 401, 401, 201,
      body={"order_id": "o-1", "click_token": "{click_token}"}, effect=True),
    R("POST", "/api/v1/conversions",                     401, 401, 401, 401, 404,
      body={"order_id": "o-2", "click_token": "{other_click_token}"}, note="another placement's click"),
    R("POST", "/api/v1/events/batch",                    401, 401, 401, 401, 200, body="{batch_body}", effect=True),
    # Statistics: those who may read and export the dashboards.
    R("GET",  "/api/v1/statistics/breakdown?by=template", 403, 200, 200, 401, 401),
    R("GET",  "/api/v1/statistics/series?by=template",   403, 200, 200, 401, 401),
    # Personal API keys: each person their own (the operator's key is not found by the others).
    R("GET",  "/api/v1/api-keys/",                       200, 200, 200, 401, 401),
    R("POST", "/api/v1/api-keys/",                       400, 400, 400, 401, 401, body={}),
    R("GET",  "/api/v1/api-keys/{api_key_prefix}/",      404, 200, 404, 401, 401),
    R("DELETE", "/api/v1/api-keys/{api_key_prefix}/",    404, 204, 404, 401, 401, effect=True),
    R("GET",  "/api/v1/health/",                         200, 200, 200, 200, 200),
    R("GET",  "/api/schema/",                            200, 200, 200, 200, 200),
    R("GET",  "/api/docs/",                              200, 200, 200, 200, 200),
]  # fmt: skip

SITE_ROWS = [
    R("GET",  "/",                                       200, 200, 200, 200, 200),
    R("GET",  "/favicon.ico",                            301, 301, 301, 301, 301),
    # Designers' pages. The sheet row opens a video template, whose sheet renders nothing. Operators may
    # open a published template's sheet (read-only); a draft is not found for them, as in the template list.
    R("GET",  "/templates/{video_draft}/sheet/",         200, 404, 403, LOGIN, LOGIN),
    R("GET",  "/templates/{video_published}/sheet/",     200, 200, 403, LOGIN, LOGIN),
    R("GET",  "/templates/{published}/editor/",          200, 403, 403, LOGIN, LOGIN),
    R("POST", "/templates/{published}/editor/render",    200, 403, 403, LOGIN, LOGIN, body="{render_body}"),
    R("POST", "/templates/{published}/editor/save",      201, 403, 403, LOGIN, LOGIN,
      body="{save_body}", effect=True),
    R("POST", "/templates/{published}/versions/1/restore", 302, 403, 403, LOGIN, LOGIN, effect=True),
    R("GET",  "/templates/{published}/editor/save",      405, 405, 405, 405, 405),
    R("POST", "/templates/{published}/editor/publish",   200, 403, 403, LOGIN, LOGIN,
      body={"version": 1}, effect=True),
    R("GET",  "/templates/{published}/editor/publish",   405, 405, 405, 405, 405),
    R("GET",  "/templates/999/sheet/",                   404, 404, 403, LOGIN, LOGIN),
    # Operators review creatives; looking at the gallery needs view, approving needs change.
    R("GET",  "/campaigns/{campaign}/review/",           403, 200, 403, LOGIN, LOGIN),
    R("GET",  "/campaigns/999/review/",                  403, 404, 403, LOGIN, LOGIN),
    R("POST", "/campaigns/{campaign}/review/",           403, 302, 403, LOGIN, LOGIN,
      body={"action": "reject", "creative": "{creative}"}, effect=True),
    # Dashboards and their CSV exports: operators and analysts.
    R("GET",  "/dashboards/",                            403, 200, 200, LOGIN, LOGIN),
    R("GET",  "/dashboards/?export=leaderboard",         403, 200, 200, LOGIN, LOGIN),
    R("GET",  "/dashboards/?export=elements",            403, 200, 200, LOGIN, LOGIN),
    # Served links work for anyone who has them: a signed render, the pixel, the click.
    R("GET",  "/r/{render_token}.jpg",                   200, 200, 200, 200, 200),
    R("GET",  "/r/forged.jpg",                           403, 403, 403, 403, 403),
    R("GET",  "/t/i/{impression_token}.gif",             200, 200, 200, 200, 200),
    R("GET",  "/t/c/{click_token}",                      302, 302, 302, 302, 302),
    R("GET",  "/t/c/forged",                             400, 400, 400, 400, 400),
    R("GET",  "/t/v/midpoint/{video_token}.gif",         200, 200, 200, 200, 200),
    R("GET",  "/t/v/midpoint/forged.gif",                400, 400, 400, 400, 400),
    R("GET",  "/t/v/rewind/{video_token}.gif",           404, 404, 404, 404, 404),
]  # fmt: skip

# Answers that are wrong today, kept in the table with the right answer and marked xfail(strict=True):
# (method, path) -> {actor: why}. Fixing one makes its test pass, and strict makes the suite say so.
KNOWN_BUGS: dict[tuple[str, str], dict[str, str]] = {}


def _with_known_bugs(rows: list[Row]) -> list[Row]:
    return [replace(row, bugs=KNOWN_BUGS.get((row.method, row.path), row.bugs)) for row in rows]


ROLE_MATRIX = _with_known_bugs([*ADMIN_ROWS, *API_ROWS, *SITE_ROWS])

# Routes with no row, each with the reason.
NOT_IN_THE_MATRIX = {
    r"admin/login/": "the login form: open to all by definition (throttling: test_admin_hardening)",
    r"admin/logout/": "ends a session; no data",
    r"admin/password_change/": "a user's own password; Django's",
    r"admin/password_change/done/": "a user's own password; Django's",
    r"admin/jsi18n/": "static translations",
    r"admin/autocomplete/": "no ModelAdmin declares autocomplete_fields; Django checks the source admin's view",
    r"admin/r/<path:content_type_id>/<path:object_id>/": "view-on-site redirect; no model has get_absolute_url",
    r"admin/(?P<url>.*)$": "the admin's catch-all (404 or the login page)",
    r"^media/(?P<path>.*)$": "local media in DEBUG only; production serves signed S3 URLs",
}
ADMIN_OBJECT_REDIRECT = re.compile(r"^admin/[\w]+/[\w]+/<path:object_id>/$")  # redirects to .../change/
FORMAT_SUFFIX = re.compile(r"\\\.\(\?P<format>")  # DRF's ".json" twin of a route with a row


def _params():
    for row in ROLE_MATRIX:
        for actor in ACTORS:
            marks = [pytest.mark.xfail(strict=True, reason=row.bugs[actor])] if actor in row.bugs else []
            yield pytest.param(row, actor, id=f"{row.id} [{actor}]", marks=marks)


# --- The world the rows point at ------------------------------------------------------------------------
class World:
    """The objects a row's path and body name, made when a row first names them."""

    CHEAP = (
        "published", "draft", "video_draft", "brand", "product", "placement", "key",
        "other_placement", "archived_placement", "copy", "spare_copy", "campaign", "empty_campaign",
        "ready_campaign", "ended_campaign", "creative", "pending_creative",
        "job", "pool", "entry", "user", "group", "task", "groupresult",
    )  # fmt: skip

    def __init__(self, users):
        self.users = users
        for name in self.CHEAP:  # rows only, made up front; renders and photos wait until a row names them
            getattr(self, name)
        # Not here: the font and the asset, rows without files, which the engine would try to load.

    def __getitem__(self, name):  # str.format_map
        return getattr(self, name)

    def fill(self, value):
        if isinstance(value, str):
            whole = re.fullmatch(r"\{(\w+)\}", value)
            return getattr(self, whole.group(1)) if whole else value.format_map(self)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value

    @staticmethod
    def _template(name, status, spec, kind=Template.Kind.IMAGE, versions=1):
        template = Template.objects.create(name=name, status=status, kind=kind)
        for number in range(1, versions + 1):
            version = TemplateVersion.objects.create(template=template, number=number, spec={**spec, "name": name})
        template.current_version = version
        if status == Template.Status.PUBLISHED:
            template.published_version = version
        template.save()
        return template

    @cached_property
    def spec(self):
        return json.loads((SHIPPED / "single-hero.json").read_text())

    @cached_property
    def published(self):
        return self._template("Live hero", Template.Status.PUBLISHED, self.spec, versions=2).pk

    @cached_property
    def draft(self):
        return self._template("Draft hero", Template.Status.DRAFT, self.spec).pk

    @cached_property
    def video_draft(self):
        return self._template("Video draft", Template.Status.DRAFT, {}, kind=Template.Kind.VIDEO).pk

    @cached_property
    def video_published(self):
        return self._template("Video live", Template.Status.PUBLISHED, {}, kind=Template.Kind.VIDEO).pk

    @cached_property
    def brand(self):
        return Brand.objects.create(name="Yanxuan", primary_colour="#b22234", accent_colour="#f5d76e").pk

    @cached_property
    def font(self):
        return Font.objects.create(family="Noto", file="fonts/noto.otf", checksum="f").pk

    @cached_property
    def asset(self):
        return Asset.objects.create(name="bg", kind="background", file="assets/bg.png", width=8, height=8).pk

    @cached_property
    def product_row(self):
        return Product.objects.create(sku="YX-1", title="羽绒服", price=699, main_image="products/yx-1.jpg")

    @cached_property
    def product(self):
        return self.product_row.pk

    @cached_property
    def product_sku(self):
        return self.product_row.sku

    @cached_property
    def placement_row(self):
        return Placement.objects.create(name="feed", channel=Placement.Channel.RECOMMENDATION, sizes=[[300, 250]])

    @cached_property
    def placement(self):
        return self.placement_row.pk

    @cached_property
    def key(self):
        return placement_key_issue(placement=self.placement_row)

    @cached_property
    def api_key_row(self):
        from accounts.services import api_key_create

        return api_key_create(user=self.users["operator"], name="operator's script")[0]

    @property
    def api_key_pk(self):
        from django.contrib.admin.utils import quote

        return quote(self.api_key_row.pk)

    @property
    def api_key_prefix(self):
        return self.api_key_row.prefix

    @cached_property
    def other_placement(self):
        other = Placement.objects.create(name="other", channel=Placement.Channel.RECOMMENDATION, sizes=[[300, 250]])
        placement_key_issue(placement=other)
        return other.pk

    @cached_property
    def archived_placement(self):
        archived = Placement.objects.create(
            name="retired", channel=Placement.Channel.SEARCH, sizes=[[300, 250]], archived_at=datetime.now(UTC)
        )
        return archived.pk

    @cached_property
    def copy(self):
        return AdCopySet.objects.create(name="winter", titles=["Winter sale"]).pk

    @cached_property
    def spare_copy(self):
        return AdCopySet.objects.create(name="unused", titles=["Spring"]).pk

    def _campaign(self, name, status):
        campaign = Campaign.objects.create(
            name=name, status=status, copy_id=self.copy, landing_url="https://shop.example.com/winter"
        )
        campaign.products.add(self.product)
        campaign.templates.add(self.published)
        campaign.placements.add(self.placement_row)
        return campaign

    @cached_property
    def campaign(self):
        return self._campaign("Winter sale", Campaign.Status.LIVE).pk

    @cached_property
    def empty_campaign(self):
        return self._campaign("Autumn sale", Campaign.Status.DRAFT).pk

    @cached_property
    def ready_campaign(self):
        campaign = self._campaign("Spring sale", Campaign.Status.REVIEW)
        self._creative(campaign.pk, Creative.State.APPROVED, "spring")
        return campaign.pk

    @cached_property
    def ended_campaign(self):
        return self._campaign("Summer sale", Campaign.Status.ENDED).pk

    def _creative(self, campaign, state, name, variant=0):
        version = Template.objects.get(pk=self.published).current_version
        return CreativeFactory(
            campaign_id=campaign,
            product_key=self.product_sku,
            template_version=version,
            variant=variant,
            file=f"creatives/{name}.jpg",
            content_hash=name,
            aesthetic_score=70.0,
            state=state,
        ).pk

    @cached_property
    def creative(self):
        return self._creative(self.campaign, Creative.State.APPROVED, "approved")

    @cached_property
    def pending_creative(self):
        return self._creative(self.campaign, Creative.State.PENDING, "pending", variant=1)

    @cached_property
    def job(self):
        return GenerationJob.objects.create(campaign_id=self.campaign, product_sets_total=1).pk

    @cached_property
    def pool(self):
        return ProductPool.objects.create(name="interest").pk

    @cached_property
    def entry(self):
        return PoolEntry.objects.create(pool_id=self.pool, product_id=self.product, interest=1.0).pk

    @cached_property
    def user(self):
        return self.users["designer"].pk

    @cached_property
    def group(self):
        return Group.objects.get(name="Designers").pk

    @cached_property
    def task(self):
        return TaskResult.objects.create(task_id="t-1", status="SUCCESS").pk

    @cached_property
    def groupresult(self):
        return GroupResult.objects.create(group_id="g-1").pk

    def _tracking_token(self, kind, placement):
        payload = {"c": self.creative, "p": placement, "s": "serve-1", "e": kind}
        return signing.dumps(payload, salt=TRACKING_SALT, compress=True)

    @cached_property
    def impression_token(self):
        return self._tracking_token("impression", self.placement)

    @cached_property
    def video_token(self):
        return self._tracking_token("video", self.placement)

    @cached_property
    def click_token(self):
        return self._tracking_token("click", self.placement)

    @cached_property
    def other_click_token(self):
        return self._tracking_token("click", self.other_placement)

    @cached_property
    def batch_body(self):
        now = datetime.now(UTC).isoformat()
        event = {"id": "e-1", "kind": "impression", "token": self.impression_token, "occurred_at": now}
        return {"events": [{**event, "user_agent": "Mozilla/5.0", "ip": "203.0.113.9"}]}

    @cached_property
    def photo_product_sku(self):
        import io
        from decimal import Decimal

        from campaigns.services import product_upsert
        from synthesis.samples import product_photo

        buf = io.BytesIO()
        product_photo((178, 34, 52), size=200).image.save(buf, format="JPEG")
        return product_upsert(sku="YX-2", title="羽绒服", price=Decimal("699"), image_data=buf.getvalue()).sku

    @cached_property
    def preview_body(self):
        return {"width": 300, "height": 250, "product_skus": [self.photo_product_sku], "title": "Winter sale"}

    @cached_property
    def render_token(self):
        from campaigns.services import render_token_make

        version = Template.objects.get(pk=self.published).current_version
        return render_token_make(
            version=version, size=(300, 250), product_skus=[self.photo_product_sku], copy={"title": "Winter"}
        )

    @cached_property
    def render_body(self):
        return {"spec": self.spec, "width": 320, "height": 50, "products": 1}

    @cached_property
    def save_body(self):
        return {"spec": {**self.spec, "name": "Live hero", "tags": ["winter"]}, "base_version": 2}


def database_state() -> dict:
    """Every stored row of the apps' models, the users, groups and their permissions, and the admin's log."""
    models = [
        model
        for label in ("accounts", "templates_app", "campaigns", "analytics", "django_celery_results", "admin")
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed  # analytics' permission carrier has no table
    ]
    models += [User, Group, Group.permissions.through, User.groups.through, User.user_permissions.through]
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in models}


def _role_user(role: str) -> User:
    """A staff user in the role's group, as the demo's (conftest's fixtures, made once for the module here)."""
    user = User.objects.create_user(username=role, is_staff=True)
    user.groups.add(Group.objects.get(name={"designer": DESIGNERS, "operator": OPERATORS, "analyst": ANALYSTS}[role]))
    return user


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    """The users and rows every row's request runs against, made once: each test runs in a savepoint
    inside this transaction, rolled back after it, and the transaction is rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        users = {role: _role_user(role) for role in ("designer", "operator", "analyst")}
        world = World(users)
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def world(module_world, db):
    return copy.copy(module_world)  # a fresh instance: what a row makes on demand is this test's only


@pytest.fixture(scope="module")
def handler():
    # One handler for the module: building the middleware (WhiteNoise indexes every static file) per test
    # would cost more than the requests.
    return ClientHandler(enforce_csrf_checks=False)


@pytest.fixture
def client(handler):
    client = Client()
    client.handler = handler
    return client


def _request(client, world, row: Row, actor: str):
    headers = {}
    if actor == "placement":
        headers["X-Placement-Key"] = world.key
    elif actor != "anonymous":
        client.force_login(world.users[actor])
    path = world.fill(row.path)
    body = world.fill(row.body)
    before = database_state() if row.method in WRITES else None
    call = getattr(client, row.method.lower())
    if row.method == "GET":
        response = call(path, headers=headers)
    elif path.startswith(("/admin/", "/campaigns/")) or path.endswith("/restore"):
        response = call(path, body or {}, headers=headers)  # a form post
    else:
        response = call(path, json.dumps(body or {}), content_type="application/json", headers=headers)
    return response, before


def _answer(response) -> int | str:
    if response.status_code == 302 and "/admin/login/" in response["Location"]:
        return LOGIN
    return response.status_code


@pytest.mark.parametrize(("row", "actor"), list(_params()))
def test_role_matrix(client, world, row, actor):
    expected = row.expected[actor]

    response, before = _request(client, world, row, actor)

    if isinstance(expected, Ignored):
        assert _answer(response) == expected.status
        assert database_state() == before, "an action the user was not offered changed stored rows"
        return
    assert _answer(response) == expected, response.content[:300]
    if before is not None and expected in REFUSED:
        assert database_state() == before, "a refused write changed stored rows"
    elif before is not None and row.effect:
        assert database_state() != before, "an allowed write changed nothing"


def test_no_row_is_listed_twice():
    ids = [row.id for row in ROLE_MATRIX]

    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_every_known_bug_names_a_row():
    rows = {(row.method, row.path): row for row in ROLE_MATRIX}

    assert all(key in rows and set(actors) <= set(ACTORS) for key, actors in KNOWN_BUGS.items())


# --- Objects an actor cannot see are not found: 404, never 403 and never the object ----------------------
def test_an_operator_asking_for_a_draft_template_is_told_it_does_not_exist(client, world):
    client.force_login(world.users["operator"])
    draft = world.draft
    body = {"width": 300, "height": 250, "product_skus": [world.product_sku], "title": "Winter sale"}

    answers = [
        client.get(f"/api/v1/templates/{draft}/"),
        client.get(f"/api/v1/templates/{draft}/versions/"),
        client.get(f"/api/v1/templates/{draft}/versions/1/"),
        client.post(f"/api/v1/templates/{draft}/preview", body, content_type="application/json"),
    ]
    listed = client.get("/api/v1/templates/").json()["results"]
    admin_list = client.get("/admin/templates_app/template/").content.decode()

    assert [(a.status_code, a.json()["code"]) for a in answers] == [(404, "not_found")] * 4
    assert not any("Draft hero" in a.content.decode() for a in answers)
    assert [t["name"] for t in listed] == ["Live hero"]
    assert "Live hero" in admin_list and "Draft hero" not in admin_list


def test_a_placement_key_finds_nothing_of_another_placement(client, world):
    key = {"X-Placement-Key": world.key}
    before = database_state()

    served = client.get(f"/api/v1/serve/{world.other_placement}", {"size": "300x250"}, headers=key)
    body = {"order_id": "o-9", "click_token": world.other_click_token}
    converted = client.post("/api/v1/conversions", body, content_type="application/json", headers=key)

    assert (served.status_code, served.json()["code"]) == (404, "not_found")
    assert "creative_id" not in served.json()
    assert (converted.status_code, converted.json()["code"]) == (404, "not_found")
    assert database_state() == before


def test_another_placements_events_in_a_batch_are_refused_and_nothing_is_stored(client, world):
    # A batch is validated whole (README: 400 naming each bad event), so a foreign token is a 400, not a 404.
    other = World._tracking_token(world, "impression", world.other_placement)
    event = {"id": "e-9", "kind": "impression", "token": other, "occurred_at": datetime.now(UTC).isoformat()}
    before = database_state()

    response = client.post(
        "/api/v1/events/batch",
        {"events": [event]},
        content_type="application/json",
        headers={"X-Placement-Key": world.key},
    )

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["events"] == {
        "0": {"token": ["This token was served to another placement."]}
    }
    assert database_state() == before


# --- Every route has a row ------------------------------------------------------------------------------
def _join(prefix: str, route: str) -> str:
    # As django.urls.resolvers.URLResolver._join_route builds ResolverMatch.route.
    return prefix + route.removeprefix("^") if prefix else route


def _routes(resolver=None, prefix="") -> list[str]:
    routes = []
    for pattern in (resolver or get_resolver()).url_patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


def test_every_route_has_a_row(world):
    covered = {resolve(world.fill(row.path).split("?")[0]).route for row in ROLE_MATRIX}
    exempt = set(NOT_IN_THE_MATRIX)

    missing = [
        route
        for route in _routes()
        if route not in covered
        and route not in exempt
        and not ADMIN_OBJECT_REDIRECT.match(route)
        and not FORMAT_SUFFIX.search(route)
    ]

    assert missing == [], "routes nobody decided who may use: add rows to ROLE_MATRIX"


def test_every_registered_admin_model_is_in_the_matrix():
    from django.contrib import admin

    registered = {f"{m._meta.app_label}/{m._meta.model_name}" for m in admin.site._registry}

    assert registered == {model for model, *_ in ADMIN_MODELS}
