"""Template API for tools outside the admin: list, versions, spec. (The server-side preview with
catalogue products is campaigns.api.previews, at the same path under templates/.)"""

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from creativeadmin.permissions import ModelChangePermissions, ModelPermissionsIncludingView

from .. import selectors, services
from ..models import Template, TemplateVersion
from .serializers import (
    TemplateDetailSerializer,
    TemplatePublishSerializer,
    TemplateSerializer,
    TemplateVersionSerializer,
)


class TemplateListView(generics.ListAPIView):
    """Templates: Designers see all, Operators the published ones."""

    serializer_class = TemplateSerializer
    permission_classes = [ModelPermissionsIncludingView]
    queryset = Template.objects.none()  # for the permission class; the selector filters per user
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        return selectors.template_list_for_user(user=self.request.user)


class TemplateDetailView(generics.RetrieveAPIView):
    """One template with its published spec (what campaigns use); the draft is at versions/{current_version}/."""

    serializer_class = TemplateDetailSerializer
    permission_classes = [ModelPermissionsIncludingView]
    queryset = Template.objects.none()

    def get_queryset(self):
        return selectors.template_list_for_user(user=self.request.user)


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


class TemplatePublishView(APIView):
    """Publish a version (the draft by default) after its preview sheet passes; campaigns use it from then on.

    400 sheet_errors lists the hard errors in words (`extra.errors`) and each with its layer and size
    (`extra.problems`); the version published before stays in use.
    """

    permission_classes = [ModelChangePermissions]  # a POST: change_template (designers)
    queryset = Template.objects.none()

    @extend_schema(request=TemplatePublishSerializer, responses={200: TemplateSerializer})
    def post(self, request, pk: int):
        params = TemplatePublishSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        template = get_object_or_404(selectors.template_list_for_user(user=request.user), pk=pk)
        version = None
        if "version" in params.validated_data:
            version = get_object_or_404(
                selectors.template_version_list(template=template), number=params.validated_data["version"]
            )
        template = services.template_publish(template=template, version=version)
        template = selectors.template_list_for_user(user=request.user).get(pk=template.pk)
        return Response(TemplateSerializer(template).data)
