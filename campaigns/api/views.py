import dataclasses
import re

from django.conf import settings
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAuthenticated, Throttled, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.idempotency import idempotent
from creativeadmin.permissions import ModelPermissionsIncludingView
from creativeadmin.schema import refusal

from ..models import Campaign, Creative, GenerationJob
from ..selectors import product_list_by_skus
from ..services import generation_job_resume_orphaned, generation_job_start
from ..serving import rendered_lookup, serve_creative
from ..serving.html_tag import HtmlAd, cache_buster_valid, click_macro_valid, html_ad_tag
from ..serving.vast import VIDEO_EVENTS, VastAd, VastCompanion, VastMedia, vast_document
from .auth import IsPlacement, PlacementKeyAuthentication
from .serializers import GenerationJobSerializer, ServedCreativeSerializer, ServeQuerySerializer
from .throttling import PlacementRateThrottle

SIZE = re.compile(r"\d{2,4}x\d{2,4}", re.ASCII)  # not the digits of other scripts, which int() reads too


class VastRenderer(BaseRenderer):
    """VAST 4.2 for video players: the document the view built (errors stay JSON, see ServeView)."""

    media_type = "application/xml"
    format = "vast"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class HtmlAdTagRenderer(BaseRenderer):
    """An HTML ad tag for display placements: the fragment the view built (errors stay JSON, see ServeView)."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


_JSON = JSONRenderer()
# The stand-in for a serve's tokens in its rendered JSON (see ServeView._json_content): JSON escapes
# its NULs, which no URL or SKU holds, so its rendering shows where a token goes and nothing else.
_TOKEN_MARK = "\0token\0"
_TOKEN_MARK_RENDERED = _JSON.render(_TOKEN_MARK)[1:-1]
BOOLEAN = {"true": True, "1": True, "false": False, "0": False}


def _bitrate_kbps(creative: Creative) -> int | None:
    """The video's average bitrate, read from its stored size once per process (and serving change)."""

    def measure() -> int | None:
        try:
            size = creative.file.size
        except OSError:
            return None
        return round(size * 8 / creative.duration / 1000) if creative.duration else None

    return rendered_lookup(("vast-bitrate", creative.pk), measure)


def _alt_text(creative: Creative) -> str:
    """What the ad shows, for its image's alt: its products' titles, the hero first (once per process
    and serving change: the serve itself runs no query)."""

    def titles() -> str:
        skus = creative.product_key.split("+")
        return ", ".join(product_list_by_skus(skus=skus).values_list("title", flat=True))

    return rendered_lookup(("html-alt", creative.pk), titles)


def _html_options(query) -> dict:
    """The HTML tag's DSP macros from the query, checked before anything is served (400 naming the bad one)."""
    click_macro, cache_buster = query.get("click_macro", ""), query.get("cb", "")
    escape = query.get("click_escape", "")
    errors = {}
    if click_macro and not click_macro_valid(click_macro):
        errors["click_macro"] = ["A DSP click macro (%%NAME%%, ${NAME}, [NAME], {NAME}) or an http(s) URL prefix."]
    if escape and escape.lower() not in BOOLEAN:
        errors["click_escape"] = ["true or false."]
    if cache_buster and not cache_buster_valid(cache_buster):
        errors["cb"] = ["A cache-busting macro (%%NAME%%, ${NAME}, [NAME], {NAME}) or letters and digits."]
    if errors:
        raise ValidationError(errors)
    return {
        "click_macro": click_macro,
        "click_escape": BOOLEAN[escape.lower()] if escape else None,
        "cache_buster": cache_buster,
    }


def _plain_query(request) -> dict | QueryDict:
    """The query string's parameters, as request.GET reads them (the last of a repeated name).

    A query of plain ASCII with nothing percent- or plus-encoded, what ad servers send
    (`size=300x250&segment=...`), is split here: building request.GET's QueryDict cost a
    twentieth of a serve. Any other query is request.GET's to read."""
    query = request.META.get("QUERY_STRING", "")
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if not query.isascii() or "%" in query or "+" in query or (limit is not None and query.count("&") >= limit):
        return request.GET  # decoded, or refused past the limit (TooManyFieldsSent), by Django
    params = {}
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            params[name] = value
    return params


class ServeView(APIView):
    """The creative a placement should show now (Thompson sampling over approved creatives)."""

    authentication_classes = [PlacementKeyAuthentication]
    permission_classes = [IsPlacement]
    throttle_classes = [PlacementRateThrottle]
    # In this order: an Accept naming XML and HTML alike (a browser's) keeps getting VAST, as before HTML tags.
    renderer_classes = [JSONRenderer, VastRenderer, HtmlAdTagRenderer]

    @staticmethod
    def _wants_json(request, query) -> bool:
        # Machines call it, most for JSON: DRF's negotiation among renderers cost a tenth of a serve.
        accept = request.META.get("HTTP_ACCEPT", "")
        return "format" not in query and "xml" not in accept and "html" not in accept

    def perform_content_negotiation(self, request, force=False):
        if self._wants_json(request, request.query_params):
            return _JSON, _JSON.media_type
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as exc:  # DRF's answer to an unknown ?format=: a 404 that read as "no such placement"
            formats = ", ".join(renderer.format for renderer in self.get_renderers())
            raise ValidationError({"format": [f"One of: {formats}."]}) from exc

    def dispatch(self, request, *args, **kwargs):
        # A GET for JSON, what ad servers send on nearly every serve, takes a lean path: the same
        # authentication, permission and throttle classes and the same answer, without DRF's request
        # wrapper, negotiation and response rendering, which cost as much as the serve itself.
        # VAST, HTML, HEAD and OPTIONS keep DRF's full cycle, and so do the errors of either path.
        if request.method != "GET":
            return super().dispatch(request, *args, **kwargs)
        query = _plain_query(request)
        if not self._wants_json(request, query):
            return super().dispatch(request, *args, **kwargs)
        try:
            credentials = PlacementKeyAuthentication().authenticate(request)
            if credentials is None:  # no key: what IsPlacement's refusal is with an authenticator that passed
                raise NotAuthenticated()
            placement = credentials[1]
            throttle = PlacementRateThrottle()
            if not throttle.allow_placement(placement.pk):
                raise Throttled(throttle.wait())
            served, absolute, _ = self._serve(request, query, placement, kwargs["placement_id"], "json")
            content = self._json_content(request, served, absolute)
        except Exception as exc:
            return self._full_cycle_error(request, exc, args, kwargs)
        response = HttpResponse(content, content_type=_JSON.media_type)
        headers = self.default_response_headers  # as finalize_response adds them: Vary first, then Allow
        response.headers["Vary"] = headers.pop("Vary")
        for name, value in headers.items():
            response.headers[name] = value
        return response

    def _full_cycle_error(self, request, exc: Exception, args, kwargs):
        """The answer DRF's dispatch gives when `exc` is raised in `initial()` or `get()`."""
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        self.request.accepted_renderer, self.request.accepted_media_type = _JSON, _JSON.media_type
        self.response = self.finalize_response(self.request, self.handle_exception(exc), *args, **kwargs)
        return self.response

    def handle_exception(self, exc):
        # Errors keep the API's one JSON error contract, VAST asked or not: a player treats any
        # non-200 answer as "no ad", and the integrator reads the reason.
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = _JSON, _JSON.media_type
        return response

    @extend_schema(
        parameters=[ServeQuerySerializer],
        responses={
            (200, "application/json"): ServedCreativeSerializer,
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="A VAST 4.2 InLine ad."),
            (200, "text/html"): OpenApiResponse(
                OpenApiTypes.STR,
                description="An HTML ad tag (image placements): the image in a link through the click URL "
                "(after `click_macro`), and the impression pixel (with `cb`). docs/tracking.md.",
            ),
        },
    )
    def get(self, request, placement_id: int):
        renderer_format = request.accepted_renderer.format
        served, absolute, html_options = self._serve(
            request, request.query_params, request.auth, placement_id, renderer_format
        )
        creative = served.creative
        if renderer_format == "vast":
            return Response(self._vast(served, absolute))
        if renderer_format == "html":
            tag = HtmlAd(
                image_url=absolute(creative.file.url),
                width=creative.width,
                height=creative.height,
                alt=_alt_text(creative),
                click_url=absolute(f"/t/c/{served.click_token}"),
                impression_url=absolute(f"/t/i/{served.impression_token}.gif"),
            )
            # One tag per serve: its tokens count one impression and one click, so it must not be reused.
            return Response(html_ad_tag(tag, **html_options), headers={"Cache-Control": "no-store"})
        return Response(self._json(served, absolute))

    @staticmethod
    def _serve(request, query, placement, placement_id: int, renderer_format: str):
        """The query checked, then the draw: (the served creative, a function making URLs absolute, HTML options)."""
        # The query is checked by hand, not by instantiating ServeQuerySerializer (which documents
        # it): building a serializer deep-copies its fields, a large share of a serve's time.
        size = query.get("size", "")
        if not SIZE.fullmatch(size):
            raise ValidationError({"size": ["WIDTHxHEIGHT, e.g. 300x250, one of the placement's sizes."]})
        width, height = (int(v) for v in size.split("x"))
        segment = query.get("segment", "")[:64]
        if "\x00" in segment:  # signed into the tokens, it would fail the pixel's insert on PostgreSQL
            raise ValidationError({"segment": ["Null characters are not allowed."]})
        vast = renderer_format == "vast"
        if vast and placement.format != Creative.Format.VIDEO:
            raise ValidationError({"format": ["VAST is for video placements; this placement serves images."]})
        html_options = None
        if renderer_format == "html":
            if placement.format != Creative.Format.IMAGE:
                raise ValidationError(
                    {"format": ["HTML ad tags are for image placements; ask for VAST (format=vast)."]}
                )
            html_options = _html_options(query)
        served = serve_creative(
            placement=placement, placement_id=placement_id, size=(width, height), segment=segment, video_events=vast
        )
        origin = request.build_absolute_uri("/")[:-1]  # checked against ALLOWED_HOSTS once, not per URL

        def absolute(location: str) -> str:  # what request.build_absolute_uri(location) returns
            if location[:1] == "/" and location[1:2] != "/":
                return origin + location
            return request.build_absolute_uri(location)

        return served, absolute, html_options

    @staticmethod
    def _json(served, absolute) -> dict:
        """The shape ServedCreativeSerializer documents."""
        creative = served.creative
        return {
            "creative_id": creative.pk,
            "url": absolute(creative.file.url),
            "width": creative.width,
            "height": creative.height,
            "format": "video/mp4" if creative.format == Creative.Format.VIDEO else "image/jpeg",
            "poster_url": absolute(creative.poster.url) if creative.poster else None,
            "duration": creative.duration,
            "product_skus": creative.product_key.split("+"),
            "impression_url": absolute(f"/t/i/{served.impression_token}.gif"),
            "click_url": absolute(f"/t/c/{served.click_token}"),
        }

    @classmethod
    def _json_content(cls, request, served, absolute) -> bytes:
        """`_JSON.render(cls._json(served, absolute))`, byte for byte, with all but the tokens rendered once
        per creative, origin and path (and serving change): rendering the dict cost a tenth of a serve."""
        creative = served.creative

        def gaps() -> list[bytes] | None:
            marked = dataclasses.replace(served, impression_token=_TOKEN_MARK, click_token=_TOKEN_MARK)
            parts = _JSON.render(cls._json(marked, absolute)).split(_TOKEN_MARK_RENDERED)
            return parts if len(parts) == 3 else None  # a renderer that escaped the mark otherwise: no shortcut

        # The path too: `absolute` joins a storage URL without a leading slash to the request's path.
        parts = rendered_lookup(("serve-json", creative.pk, absolute("/"), request.path), gaps)
        if parts is None:
            return _JSON.render(cls._json(served, absolute))
        # Tokens are base64url, base62, ":" and ".": nothing a JSON string escapes.
        return b"".join((parts[0], served.impression_token.encode(), parts[1], served.click_token.encode(), parts[2]))

    @staticmethod
    def _vast(served, absolute) -> bytes:
        creative = served.creative

        def video(event: str) -> str:
            return absolute(f"/t/v/{event}/{served.video_token}.gif")

        return vast_document(
            VastAd(
                ad_id=str(creative.pk),
                serve_id=served.serve_id,
                title=f"{creative.campaign_id}: {creative.product_key}",
                media=VastMedia(
                    url=absolute(creative.file.url),
                    width=creative.width,
                    height=creative.height,
                    duration=creative.duration or 0.0,
                    bitrate_kbps=_bitrate_kbps(creative),
                ),
                impression_url=absolute(f"/t/i/{served.impression_token}.gif"),
                error_url=video("error") + "?code=[ERRORCODE]",
                click_url=absolute(f"/t/c/{served.click_token}"),
                tracking_urls={event: video(event) for event in VIDEO_EVENTS},
                companion=VastCompanion(url=absolute(creative.poster.url), width=creative.width, height=creative.height)
                if creative.poster
                else None,
            )
        )


class CampaignGenerateView(APIView):
    """Start generating a campaign's creatives; returns the job to poll."""

    permission_classes = [ModelPermissionsIncludingView]
    parser_classes = []  # no body: with or without Idempotency-Key, whatever is sent (an empty form too) is ignored
    queryset = Campaign.objects.none()

    @extend_schema(
        request=None,
        responses={
            202: GenerationJobSerializer,
            400: refusal("`campaign_not_ready`: `extra.problems` lists what is missing."),
            409: refusal(
                "`campaign_ended`: reopen it first. `generation_running`: a job of this campaign is still "
                "running (`extra.job` is its id); wait for it to finish."
            ),
        },
    )
    @idempotent
    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        job = generation_job_start(campaign=campaign, requested_by=request.user)
        return Response(GenerationJobSerializer(job).data, status=202)


class GenerationJobView(APIView):
    """A generation job's progress (the admin's progress bars poll this).

    With the embedded default, a job its stopped process left running is resumed when asked about.
    """

    permission_classes = [ModelPermissionsIncludingView]
    queryset = GenerationJob.objects.none()

    @extend_schema(responses=GenerationJobSerializer)
    def get(self, request, pk: int):
        job = get_object_or_404(GenerationJob, pk=pk)
        if generation_job_resume_orphaned(job=job):
            job.refresh_from_db()
        return Response(GenerationJobSerializer(job).data)
