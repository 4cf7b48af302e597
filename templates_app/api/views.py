"""Template API for tools outside the admin: list, versions, spec. (The server-side preview with
catalogue products is campaigns.api.previews, at the same path under templates/.)"""

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from creativeadmin.permissions import ModelPermissionsIncludingView

from .. import selectors
from ..models import Template, TemplateVersion
from .serializers import (
    TemplateDetailSerializer,
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
