"""Tracking endpoints the served creatives point at: impression pixel, click redirect and the
video playback pixels a VAST player fires."""

import base64

from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from creativeadmin.errors import error_response

from .errors import TrackingRejected
from .services import event_record
from .services.tracking import VIDEO_EVENT_KINDS

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _client(request) -> dict:
    return {"user_agent": request.headers.get("User-Agent", ""), "ip": request.META.get("REMOTE_ADDR")}


# The headers `never_cache` wrote over the views' own `no-store`, set in one go: it parsed and rewrote
# Cache-Control twice a request (3-5% of a pixel's Python, 1,431-1,470 -> 1,493-1,496 pixels a second).
_NEVER_STORED = "no-store, max-age=0, no-cache, must-revalidate, private"


def _never_stored(response):
    """`response`, which no browser or proxy may keep or answer from a cache (`Expires` for HTTP/1.0 ones)."""
    response["Cache-Control"] = _NEVER_STORED
    response["Expires"] = http_date()
    return response


def _rejected(exc: TrackingRejected) -> JsonResponse:
    return _never_stored(error_response(exc))


@csrf_exempt  # GET only: any other method is a 405, not the CSRF check's 403 page
@require_GET
def impression_pixel(request, token: str):
    try:
        event_record(token=token, kind="impression", **_client(request))
    except TrackingRejected as exc:
        return _rejected(exc)
    return _never_stored(HttpResponse(PIXEL, content_type="image/gif"))


@csrf_exempt  # GET only: any other method is a 405, not the CSRF check's 403 page
@require_GET
def click_redirect(request, token: str):
    """Redirects only to the landing URL stored for the campaign; anything forged, or a campaign
    without a landing page, gets a 400 (and stores nothing)."""
    try:
        landing = event_record(token=token, kind="click", **_client(request)).landing_url
    except TrackingRejected as exc:
        return _rejected(exc)
    return _never_stored(HttpResponseRedirect(landing))


@csrf_exempt  # GET only: any other method is a 405, not the CSRF check's 403 page
@require_GET
def video_event_pixel(request, event: str, token: str):
    """A VAST player's start, quartile, complete or error ping for one serve."""
    kind = VIDEO_EVENT_KINDS.get(event)
    if kind is None:
        raise Http404("No such video event.")
    try:
        event_record(token=token, kind=kind, **_client(request))
    except TrackingRejected as exc:
        return _rejected(exc)
    return _never_stored(HttpResponse(PIXEL, content_type="image/gif"))
