"""Server-side preview of a template with catalogue products (`POST /api/v1/templates/<pk>/preview`).

Under the templates' path for its callers, served by campaigns: the products are campaigns'
rows, and templates_app (below campaigns) renders the product images it is handed.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from creativeadmin.errors import NotFoundError
from creativeadmin.permissions import ModelViewPermission
from templates_app import selectors as template_selectors
from templates_app.models import Template
from templates_app.services import template_preview

from ..selectors import product_list_by_skus


class PreviewRequestSerializer(serializers.Serializer):
    width = serializers.IntegerField(min_value=50, max_value=2160, default=1080)
    height = serializers.IntegerField(min_value=50, max_value=2160, default=1080)
    version = serializers.IntegerField(
        required=False,
        help_text="Version number; by default designers get the draft (newest saved), others the published one.",
    )
    product_skus = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=4)
    title = serializers.CharField(max_length=500)
    subtitle = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    price = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    badge = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)

    def validate_product_skus(self, skus: list[str]) -> list[str]:
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError("Each product may appear once.")
        return skus


class TemplatePreviewView(APIView):
    """Render a template version with real products and copy; returns a JPEG with score headers."""

    permission_classes = [ModelViewPermission]
    queryset = Template.objects.none()

    @extend_schema(
        request=PreviewRequestSerializer,
        responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The rendered preview")},
    )
    def post(self, request, pk: int):
        params = PreviewRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        template = get_object_or_404(template_selectors.template_list_for_user(user=request.user), pk=pk)
        versions = template_selectors.template_version_list(template=template)
        if "version" in data:
            version = versions.filter(number=data["version"]).first()
        else:
            version = template_selectors.template_version_for_user(template=template, user=request.user)
        if version is None:
            raise NotFoundError("No such version of this template.")
        products = list(product_list_by_skus(skus=data["product_skus"]))
        if len(products) != len(data["product_skus"]):
            raise NotFoundError("Unknown product sku.", extra={"skus": data["product_skus"]})
        preview = template_preview(
            version=version,
            size=(data["width"], data["height"]),
            product_images=[p.main_image.name for p in products],
            copy=data,
            seed=data["seed"],
        )
        response = HttpResponse(preview["image"], content_type="image/jpeg")
        response["X-Aesthetic-Score"] = f"{preview['score']:.2f}"
        response["X-Violations"] = ",".join(preview["violations"]) or "none"
        response["Cache-Control"] = "no-store"
        return response
