"""The creatives API: a campaign's or a job's creatives, filtered, and their review in bulk.

`GET /api/v1/creatives/` (the filters of campaigns.filters.CreativeFilter as query parameters),
`GET /api/v1/creatives/{id}/`, and `POST /api/v1/creatives/review` to approve or reject creatives
by ids, by filter or both. Thin: the filters are the review gallery's (`selectors.creative_list`),
the review is the gallery's and the admin's service (`services.creatives_review`), and so are the
permissions: reading needs `campaigns.view_creative`, reviewing `campaigns.change_creative`.
"""

from collections.abc import Mapping
from types import SimpleNamespace

import django_filters
from django.db.models.fields.files import FieldFile
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from creativeadmin.json_input import DepthLimitedJSONParser
from creativeadmin.permissions import ModelChangePermissions

from .. import selectors, services
from ..filters import CreativeFilter
from ..models import Creative

REVIEW_IDS_MAX = 1000  # ids in one review request; a larger set is reviewed by filter
ID_MAX = 2**63 - 1  # the largest id a database stores (a larger one is refused, never sent to it)


class FormatIsAFilter(DefaultContentNegotiation):
    """`?format=image|video` filters creatives here, as in the gallery: DRF's `?format=` override of the
    answer's format is off (the answer's format follows Accept alone)."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


def _filter_field(name: str, filter_: django_filters.Filter) -> serializers.Field:
    """The serializer field documenting and checking one filter of CreativeFilter, by its kind."""
    help_text = filter_.extra.get("help_text")
    if isinstance(filter_, django_filters.ModelChoiceFilter):
        return serializers.IntegerField(
            min_value=1, max_value=ID_MAX, required=False, help_text=help_text or f"The {name}'s id."
        )
    if isinstance(filter_, django_filters.ChoiceFilter):
        return serializers.ChoiceField(filter_.extra["choices"], required=False, help_text=help_text)
    if isinstance(filter_, django_filters.NumberFilter):
        return serializers.FloatField(required=False, help_text=help_text)
    return serializers.CharField(
        required=False, max_length=300, validators=filter_.extra.get("validators", []), help_text=help_text
    )


class _NoUnknownFilters(serializers.Serializer):
    """A filter the set does not have is refused, not dropped: a review by {"campaign": 7, "max_scor": 50}
    would otherwise reject the whole campaign."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in set(data) - set(self.fields))
            if unknown:
                known = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {name: [f"Not a filter of creatives (they are: {known})."] for name in unknown}
                )
        return super().to_internal_value(data)


# Built from the filter set, so the documented query parameters and body filter are always the ones applied.
CreativeFilterSerializer = type(
    "CreativeFilterSerializer",
    (_NoUnknownFilters,),
    {name: _filter_field(name, f) for name, f in CreativeFilter.base_filters.items()},
)


class CreativeSerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="campaign_id")
    job = serializers.IntegerField(source="job_id", allow_null=True, help_text="The generation job that made it.")
    size = serializers.SerializerMethodField(help_text="WIDTHxHEIGHT")
    product_skus = serializers.SerializerMethodField(help_text="The products shown, the hero first.")
    template = serializers.IntegerField(source="template_version.template_id")
    template_name = serializers.CharField(source="template_version.template.name")
    template_version = serializers.IntegerField(source="template_version.number", help_text="The version's number.")
    score_breakdown = serializers.DictField(
        child=serializers.FloatField(), help_text="The aesthetic score's components, each 0-1."
    )
    violations = serializers.ListField(
        child=serializers.CharField(), help_text="Hard checks it fails (never auto-approved), e.g. low_contrast:title."
    )
    provenance = serializers.DictField(help_text="How it was made: template, palette, layout, encoding...")
    theme_colours = serializers.ListField(child=serializers.CharField(), help_text="#rrggbb, the theme's palette.")
    url = serializers.SerializerMethodField(help_text="The image (JPEG) or video (MP4).")
    poster_url = serializers.SerializerMethodField(help_text="Videos: a still frame.")
    thumbnail_url = serializers.SerializerMethodField(help_text="Images: a small JPEG for galleries.")

    class Meta:
        model = Creative
        fields = (
            "id", "campaign", "job", "state", "format", "width", "height", "size", "variant", "family", "product_key",
            "product_skus", "template", "template_name", "template_version", "aesthetic_score", "score_breakdown",
            "violations", "provenance", "theme_colours", "url", "poster_url", "thumbnail_url", "duration", "created_at",
        )  # fmt: skip
        read_only_fields = fields

    def _absolute(self, file: FieldFile) -> str | None:
        # The storage's URL: absolute already for S3 (signed); made absolute for local storage.
        return self.context["request"].build_absolute_uri(file.url) if file else None

    def get_size(self, creative: Creative) -> str:
        return f"{creative.width}x{creative.height}"

    def get_product_skus(self, creative: Creative) -> list[str]:
        return creative.product_key.split("+")

    def get_url(self, creative: Creative) -> str:
        return self._absolute(creative.file)

    def get_poster_url(self, creative: Creative) -> str | None:
        return self._absolute(creative.poster)

    def get_thumbnail_url(self, creative: Creative) -> str | None:
        return self._absolute(creative.thumbnail)


class CreativeReviewSerializer(serializers.Serializer):
    action = serializers.ChoiceField(["approve", "reject"], help_text="approve: served from now on; reject: never.")
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX),
        required=False,
        allow_empty=False,
        max_length=REVIEW_IDS_MAX,
        help_text=f"The creatives, 1 to {REVIEW_IDS_MAX}; with a filter, only those it matches (the rest are "
        "ignored and listed in the answer's ids_ignored).",
    )
    filter = CreativeFilterSerializer(
        required=False,
        help_text="The creatives matching every filter given (the list's query parameters); without ids it "
        "must name a campaign or a job.",
    )

    def validate(self, attrs):
        if "ids" not in attrs and "filter" not in attrs:
            raise serializers.ValidationError({"ids": ["Give the creatives' ids, a filter, or both."]})
        if "ids" not in attrs and not (attrs["filter"].get("campaign") or attrs["filter"].get("job")):
            raise serializers.ValidationError(
                {"filter": ["Without ids, a filter must name a campaign or a job: it never spans every campaign."]}
            )
        return attrs


class CreativeReviewResultSerializer(serializers.Serializer):
    action = serializers.ChoiceField(["approve", "reject"])
    matched = serializers.IntegerField(help_text="Creatives the request named (by its ids and filter).")
    changed = serializers.IntegerField(help_text="Of those, how many changed state (the rest already had it).")
    ids_ignored = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids given that name no creative matching the filter (or none)."
    )


@extend_schema_view(
    list=extend_schema(
        parameters=[CreativeFilterSerializer],
        description="Creatives matching every filter given, in the review gallery's order (product set, "
        "its sizes widest first, best score first); 400 names a malformed filter.",
    ),
)
class CreativeViewSet(viewsets.ReadOnlyModelViewSet):
    """Generated creatives with their files, score components, violations and provenance."""

    serializer_class = CreativeSerializer
    permission_classes = [ModelChangePermissions]
    content_negotiation_class = FormatIsAFilter

    def get_queryset(self):
        return selectors.creative_list()

    def filter_queryset(self, queryset):
        # Here rather than in get_queryset: the permission check (which reads get_queryset) comes first,
        # so a refused user learns nothing from how their filters are judged.
        if self.action != "list":
            return queryset
        return selectors.creative_list(filters=self.request.query_params)

    @extend_schema(request=CreativeReviewSerializer, responses=CreativeReviewResultSerializer)
    @action(detail=False, methods=["post"], parser_classes=[DepthLimitedJSONParser])
    def review(self, request):
        """Approve or reject creatives in bulk, as the review gallery does: by ids, by a filter (the list's
        filters; it must name a campaign or a job) or both (the ids the filter matches, e.g. within one
        campaign). Answers how many the request named and how many changed; serving follows at once."""
        body = CreativeReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        creatives = selectors.creative_list(filters=data.get("filter"), ids=data.get("ids"))
        ignored = sorted(set(data["ids"]) - set(creatives.values_list("pk", flat=True))) if "ids" in data else []
        matched = creatives.count()
        changed = services.creatives_review(creatives=creatives, approve=data["action"] == "approve")
        return Response({"action": data["action"], "matched": matched, "changed": changed, "ids_ignored": ignored})
