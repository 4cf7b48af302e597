import re

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from creativeadmin.permissions import ModelPermissionsIncludingView

from ..models import Campaign, Creative, GenerationJob
from ..services import generation_job_start
from ..serving import serve_creative
from .auth import IsPlacement, PlacementKeyAuthentication
from .serializers import GenerationJobSerializer, ServedCreativeSerializer, ServeQuerySerializer
from .throttling import PlacementRateThrottle

SIZE = re.compile(r"\d{2,4}x\d{2,4}")


class ServeView(APIView):
    """The creative a placement should show now (Thompson sampling over approved creatives)."""

    authentication_classes = [PlacementKeyAuthentication]
    permission_classes = [IsPlacement]
    throttle_classes = [PlacementRateThrottle]
    renderer_classes = [JSONRenderer]  # machines call it; choosing among renderers cost a tenth of a serve

    @extend_schema(parameters=[ServeQuerySerializer], responses=ServedCreativeSerializer)
    def get(self, request, placement_id: int):
        # The query is checked by hand, not by instantiating ServeQuerySerializer (which documents
        # it): building a serializer deep-copies its fields, a large share of a serve's time.
        size = request.query_params.get("size", "")
        if not SIZE.fullmatch(size):
            raise ValidationError({"size": ["WIDTHxHEIGHT, e.g. 300x250, one of the placement's sizes."]})
        width, height = (int(v) for v in size.split("x"))
        segment = request.query_params.get("segment", "")[:64]
        served = serve_creative(
            placement=request.auth, placement_id=placement_id, size=(width, height), segment=segment
        )
        creative = served.creative
        origin = request.build_absolute_uri("/")[:-1]  # checked against ALLOWED_HOSTS once, not per URL

        def absolute(location: str) -> str:  # what request.build_absolute_uri(location) returns
            if location[:1] == "/" and location[1:2] != "/":
                return origin + location
            return request.build_absolute_uri(location)

        body = {
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
        return Response(body)  # the shape ServedCreativeSerializer documents


class CampaignGenerateView(APIView):
    """Start generating a campaign's creatives; returns the job to poll."""

    permission_classes = [ModelPermissionsIncludingView]
    queryset = Campaign.objects.none()

    @extend_schema(request=None, responses={202: GenerationJobSerializer})
    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk)
        job = generation_job_start(campaign=campaign, requested_by=request.user)
        return Response(GenerationJobSerializer(job).data, status=202)


class GenerationJobView(APIView):
    """A generation job's progress (the admin's progress bar polls this)."""

    permission_classes = [ModelPermissionsIncludingView]
    queryset = GenerationJob.objects.none()

    @extend_schema(responses=GenerationJobSerializer)
    def get(self, request, pk: int):
        return Response(GenerationJobSerializer(get_object_or_404(GenerationJob, pk=pk)).data)
