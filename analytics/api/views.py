"""Tracking API for placements' servers: conversion postbacks."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api.auth import IsPlacement, PlacementKeyAuthentication

from ..services import TrackingRejected, conversion_record


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
        },
    )
    def post(self, request):
        data = ConversionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            event, created = conversion_record(placement=request.auth, **data.validated_data)
        except TrackingRejected as exc:
            return Response({"message": exc.message, "code": exc.code, "extra": {}}, status=400)
        return Response({"event_id": event.event_id}, status=201 if created else 200)
