"""Tracking API for placements' servers: conversion postbacks and event batches."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api.auth import IsPlacement, PlacementKeyAuthentication
from creativeadmin.parsers import BoundedJSONParser

from ..services import BATCH_MAX_EVENTS, BatchEvent, conversion_record, events_ingest
from .serializers import EventBatchResultSerializer, EventBatchSerializer

BATCH_MAX_BYTES = 4 * 1024 * 1024  # 1,000 events with long tokens and user agents fit in well under this


class EventBatchParser(BoundedJSONParser):
    max_bytes = BATCH_MAX_BYTES


ERROR = inline_serializer(
    "TrackingError",
    {"message": serializers.CharField(), "code": serializers.CharField(), "extra": serializers.DictField()},
)


class ConversionSerializer(serializers.Serializer):
    order_id = serializers.CharField(max_length=100)
    click_token = serializers.CharField(max_length=1000, help_text="The token of the click URL that led to the order.")


class ConversionView(APIView):
    """Report an order (idempotent on order_id): 201 stored, 200 replay, 409 same order for another click."""

    authentication_classes = [PlacementKeyAuthentication]
    permission_classes = [IsPlacement]

    @extend_schema(
        request=ConversionSerializer,
        responses={
            201: inline_serializer("ConversionStored", {"event_id": serializers.CharField()}),
            200: inline_serializer("ConversionReplay", {"event_id": serializers.CharField()}),
            404: OpenApiResponse(ERROR, description="The click was not served by your placement."),
            409: OpenApiResponse(ERROR, description="`order_conflict`: the order was reported for another click."),
        },
    )
    def post(self, request):
        data = ConversionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event, created = conversion_record(placement=request.auth, **data.validated_data)  # TrackingRejected: 400
        return Response({"event_id": event.event_id}, status=201 if created else 200)


class EventBatchView(APIView):
    """Report up to 1,000 impressions and clicks at once, each counted once per id.

    Nothing is stored unless every event is valid (400 names the bad ones by index under
    extra.fields.events); an id sent again with the same body is a replay, with another body
    a 409. A serve counts one impression and one click, whatever the ids: its tokens replayed
    under new ids, crawler, empty-user-agent and burst traffic, times outside a token's lifetime
    and tokens served before a key revocation are stored but left out of the counts.
    """

    authentication_classes = [PlacementKeyAuthentication]
    permission_classes = [IsPlacement]
    parser_classes = [EventBatchParser]
    renderer_classes = [JSONRenderer]  # placements' servers call it: no browsable page to choose

    @extend_schema(
        request=EventBatchSerializer,
        responses={
            200: EventBatchResultSerializer,
            400: OpenApiResponse(ERROR, description="Malformed body or invalid events; nothing stored."),
            409: OpenApiResponse(ERROR, description="An id already reported with another body; nothing stored."),
            413: OpenApiResponse(ERROR, description=f"Over {BATCH_MAX_EVENTS} events or {BATCH_MAX_BYTES} bytes."),
        },
    )
    def post(self, request):
        data = EventBatchSerializer(data=request.data, context={"placement": request.auth})
        data.is_valid(raise_exception=True)
        batch = events_ingest(placement=request.auth, events=[BatchEvent(**e) for e in data.validated_data["events"]])
        # What EventBatchResultSerializer documents, built directly: through the serializer, a
        # result per event costs more than storing the event.
        results = [{"id": r.id, "status": r.status} for r in batch.results]
        return Response({"stored": batch.stored, "replayed": batch.replayed, "results": results})
