"""Template API for tools outside the admin: list, versions, spec, and server-side preview."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.views import APIView

from campaigns.selectors import product_list_by_skus
from creativeadmin.errors import NotFoundError
from creativeadmin.permissions import ModelPermissionsIncludingView, ModelViewPermission

from .. import selectors, services
from ..models import Template, TemplateVersion
from .serializers import (
    PreviewRequestSerializer,
    TemplateDetailSerializer,
    TemplateSerializer,
    TemplateVersionSerializer,
)


class TemplateListView(generics.ListAPIView):
    """Templates: Designers see all, Operators the published ones."""

    serializer_class = TemplateSerializer
    permission_classes = [ModelPermissionsIncludingView]
    queryset = Template.objects.none()  # for the permission class; the selector filters per user

    def get_queryset(self):
        return selectors.template_list_for_user(user=self.request.user)


class TemplateDetailView(generics.RetrieveAPIView):
    """One template with its current spec."""

    serializer_class = TemplateDetailSerializer
    permission_classes = [ModelPermissionsIncludingView]
    queryset = Template.objects.none()

    def get_queryset(self):
        return selectors.template_list_for_user(user=self.request.user).select_related("current_version")


class TemplateVersionListView(generics.ListAPIView):
    """Every saved version of a template, newest first, with its spec."""

    serializer_class = TemplateVersionSerializer
    permission_classes = [ModelPermissionsIncludingView]
    queryset = Template.objects.none()

    def get_queryset(self):
        # Called by the permission check too, so it must not answer 404 before a refusal is due.
        templates = selectors.template_list_for_user(user=self.request.user)
        return TemplateVersion.objects.filter(template__in=templates, template_id=self.kwargs["pk"]).select_related(
            "saved_by"
        )

    def list(self, request, *args, **kwargs):
        get_object_or_404(selectors.template_list_for_user(user=request.user), pk=kwargs["pk"])
        return super().list(request, *args, **kwargs)


class TemplateVersionDetailView(generics.RetrieveAPIView):
    """One saved version of a template and its spec (older versions stay readable and restorable)."""

    serializer_class = TemplateVersionSerializer
    permission_classes = [ModelPermissionsIncludingView]
    queryset = Template.objects.none()

    def get_object(self):
        template = get_object_or_404(selectors.template_list_for_user(user=self.request.user), pk=self.kwargs["pk"])
        return get_object_or_404(selectors.template_version_list(template=template), number=self.kwargs["number"])


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
        template = get_object_or_404(selectors.template_list_for_user(user=request.user), pk=pk)
        versions = selectors.template_version_list(template=template)
        version = versions.filter(number=data["version"]).first() if "version" in data else template.current_version
        if version is None:
            raise NotFoundError("No such version of this template.")
        products = list(product_list_by_skus(skus=data["product_skus"]))
        if len(products) != len(data["product_skus"]):
            raise NotFoundError("Unknown product sku.", extra={"skus": data["product_skus"]})
        preview = services.template_preview(
            version=version, size=(data["width"], data["height"]), products=products, copy=data, seed=data["seed"]
        )
        response = HttpResponse(preview["image"], content_type="image/jpeg")
        response["X-Aesthetic-Score"] = f"{preview['score']:.2f}"
        response["X-Violations"] = ",".join(preview["violations"]) or "none"
        response["Cache-Control"] = "no-store"
        return response
