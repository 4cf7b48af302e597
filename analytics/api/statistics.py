"""Statistics as JSON: breakdowns and time series from the rollups, the dashboards' and CSV's own numbers.

`GET /api/v1/statistics/breakdown?by=template&start=2026-11-01&end=2026-11-30` and
`GET /api/v1/statistics/series?by=placement&granularity=hour&start=...`. Both read through
analytics.selectors.statistics_breakdown / statistics_series, which the dashboards use too.
"""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission

from campaigns.models import Campaign, Creative, Placement
from templates_app.models import Template

from .. import selectors
from ..forms import DEFAULT_DAYS, FIRST_DAY, LAST_DAY, NO_SEGMENT

HOURLY_MAX_DAYS = 31  # an hourly series of a longer range is asked for by the month


class CanReadStatistics(BasePermission):
    """The dashboards' readers who may also take the numbers away (the CSV exports' permission)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perms(["analytics.view_dashboard", "analytics.export_data"]))


class StatisticsPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _day(help_text: str) -> serializers.DateField:
    return serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
        help_text=help_text,
    )


class BreakdownQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=list(selectors.DIMENSIONS), help_text="What the rows are of.")
    start = _day(f"First local day (YYYY-MM-DD, inclusive); default: {DEFAULT_DAYS} days before `end`.")
    end = _day("Last local day (YYYY-MM-DD, inclusive); default: today.")
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all(), required=False)
    placement = serializers.PrimaryKeyRelatedField(queryset=Placement.objects.all(), required=False)
    template = serializers.PrimaryKeyRelatedField(queryset=Template.objects.all(), required=False)
    creative = serializers.PrimaryKeyRelatedField(queryset=Creative.objects.all(), required=False)
    segment = serializers.CharField(
        required=False, max_length=64, help_text=f"An audience segment; `{NO_SEGMENT}` for traffic without one."
    )
    element = serializers.ChoiceField(
        choices=list(selectors.ELEMENTS), required=False, help_text="With by=element: one kind of element only."
    )

    def validate(self, attrs):
        end = attrs.get("end") or timezone.localdate()
        start = attrs.get("start") or min(end, timezone.localdate()) - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError({"start": "`start` must be on or before `end`."})
        if "element" in attrs and attrs["by"] != "element":
            raise serializers.ValidationError({"element": "Only with by=element."})
        return {**attrs, "start": start, "end": end}

    def selector_arguments(self) -> dict:
        """The selectors' keyword arguments: an aware [start, end) of whole local days, ids and segment."""
        data = self.validated_data
        start, end = selectors.day_range(data["start"], data["end"])
        segment = data.get("segment")
        arguments = dict(by=data["by"], start=start, end=end, element=data.get("element"))
        for name in ("campaign", "placement", "template", "creative"):
            if data.get(name) is not None:
                arguments[f"{name}_id"] = data[name].pk
        if segment is not None:
            arguments["segment"] = "" if segment == NO_SEGMENT else segment
        return arguments


class SeriesQuerySerializer(BreakdownQuerySerializer):
    granularity = serializers.ChoiceField(choices=list(selectors.GRANULARITIES), default="day")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["granularity"] == "hour" and (attrs["end"] - attrs["start"]).days >= HOURLY_MAX_DAYS:
            raise serializers.ValidationError({"granularity": f"Hourly series cover at most {HOURLY_MAX_DAYS} days."})
        return attrs

    def selector_arguments(self) -> dict:
        return {**super().selector_arguments(), "granularity": self.validated_data["granularity"]}


class StatisticsRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The id (creative, template, version, placement, campaign) or the value.")
    label = serializers.CharField(help_text="The same, for a person.")
    element = serializers.CharField(help_text="With by=element: the kind of element (palette, ...); else empty.")
    impressions = serializers.IntegerField(help_text="Net: valid, not duplicated.")
    clicks = serializers.IntegerField(help_text="Net.")
    conversions = serializers.IntegerField()
    impressions_gross = serializers.IntegerField()
    clicks_gross = serializers.IntegerField()
    ctr = serializers.FloatField(help_text="Net clicks per net impression.")
    ctr_low = serializers.FloatField(help_text="95% Wilson interval of the CTR: low end.")
    ctr_high = serializers.FloatField()
    cvr = serializers.FloatField(help_text="Conversions per net click.")
    cvr_low = serializers.FloatField(help_text="95% Wilson interval of the CVR: low end.")
    cvr_high = serializers.FloatField()


class StatisticsPointSerializer(StatisticsRowSerializer):
    start = serializers.DateTimeField(help_text="The start of the hour or of the local day counted.")


def row_data(row: selectors.RateRow) -> dict:
    """What StatisticsRowSerializer documents, built directly (thousands of rows a page)."""
    ctr_low, ctr_high = row.ctr_interval
    cvr_low, cvr_high = row.cvr_interval
    return {
        "key": row.key,
        "label": row.label,
        "element": getattr(row, "element", ""),
        "impressions": row.impressions,
        "clicks": row.clicks,
        "conversions": row.conversions,
        "impressions_gross": row.impressions_gross,
        "clicks_gross": row.clicks_gross,
        "ctr": row.ctr,
        "ctr_low": ctr_low,
        "ctr_high": ctr_high,
        "cvr": row.cvr,
        "cvr_low": cvr_low,
        "cvr_high": cvr_high,
    }


class StatisticsBreakdownView(GenericAPIView):
    """Counts, CTR and CVR (95% Wilson intervals) per creative, template, template version, placement,
    campaign, segment or provenance element over whole local days, best CTR first."""

    permission_classes = [CanReadStatistics]
    pagination_class = StatisticsPagination
    serializer_class = StatisticsRowSerializer

    @extend_schema(parameters=[BreakdownQuerySerializer], responses=StatisticsRowSerializer(many=True))
    def get(self, request):
        query = BreakdownQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.statistics_breakdown(**query.selector_arguments())
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([row_data(row) for row in page])


class StatisticsSeriesView(GenericAPIView):
    """The same counts per hour or per local day, one point per group and time with traffic,
    ordered by group then time (hourly: at most 31 days a request)."""

    permission_classes = [CanReadStatistics]
    pagination_class = StatisticsPagination
    serializer_class = StatisticsPointSerializer

    @extend_schema(parameters=[SeriesQuerySerializer], responses=StatisticsPointSerializer(many=True))
    def get(self, request):
        query = SeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        points = selectors.statistics_series(**query.selector_arguments())
        page = self.paginate_queryset(points)
        return self.get_paginated_response([{**row_data(p.row), "start": p.start.isoformat()} for p in page])
