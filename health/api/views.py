from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..services import health_report


class HealthView(APIView):
    """Liveness of the database, the broker and media storage; 503 if any is down."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        responses=inline_serializer("Health", {"ok": serializers.BooleanField(), "checks": serializers.DictField()})
    )
    def get(self, request):
        report = health_report()
        return Response(report, status=200 if report["ok"] else 503)
