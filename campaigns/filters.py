"""The filters of creatives, one definition for every surface that narrows them: the review gallery,
the creatives API's list and its bulk review by filter (`selectors.creative_list` applies them);
and the filters of the CRUD API's lists (campaigns, placements, products), applied and documented
by django-filter's DRF backend.

A filter is a name in `CreativeFilter.Meta.fields` (a model field, matched exactly) or a declared
filter below; the API documents and validates whatever this set holds.
"""

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet

from .models import Campaign, Creative, Placement, Product

SIZE_PATTERN = r"^[0-9]{2,4}x[0-9]{2,4}$"
SKU_PATTERN = r"^[A-Za-z0-9._-]+$"  # Product.sku's own rule


class CreativeFilter(django_filters.FilterSet):
    size = django_filters.CharFilter(
        method="_size",
        validators=[RegexValidator(SIZE_PATTERN, "WIDTHxHEIGHT, e.g. 300x250.")],
        help_text="WIDTHxHEIGHT, e.g. 1080x1080.",
    )
    product = django_filters.CharFilter(
        method="_product",
        validators=[RegexValidator(SKU_PATTERN, "A product sku: letters, digits, . _ - only.")],
        help_text="A product's sku: creatives showing it, alone or with others.",
    )
    min_score = django_filters.NumberFilter(
        field_name="aesthetic_score", lookup_expr="gte", help_text="Aesthetic score at least this (0-100)."
    )
    max_score = django_filters.NumberFilter(
        field_name="aesthetic_score", lookup_expr="lte", help_text="Aesthetic score at most this (0-100)."
    )

    class Meta:
        model = Creative
        # Model fields matched exactly, each documented and validated by the API as it is listed here.
        fields = [
            "campaign",
            "job",
            "state",
            "format",
            "family",
        ]

    def _size(self, queryset: QuerySet[Creative], name: str, value: str) -> QuerySet[Creative]:
        width, _, height = value.partition("x")
        return queryset.filter(width=int(width), height=int(height))

    def _product(self, queryset: QuerySet[Creative], name: str, value: str) -> QuerySet[Creative]:
        # product_key is the skus joined by "+", and a sku never holds "+": match whole skus only.
        return queryset.filter(
            Q(product_key=value)
            | Q(product_key__startswith=f"{value}+")
            | Q(product_key__endswith=f"+{value}")
            | Q(product_key__contains=f"+{value}+")
        )


class CampaignFilter(django_filters.FilterSet):
    placement = django_filters.ModelChoiceFilter(
        field_name="placements", queryset=Placement.objects.all(), help_text="Campaigns shown on this placement."
    )
    product = django_filters.CharFilter(
        field_name="products__sku",
        validators=[RegexValidator(SKU_PATTERN, "A product sku: letters, digits, . _ - only.")],
        help_text="Campaigns showing this product (its sku).",
    )

    class Meta:
        model = Campaign
        fields = ["status", "copy", "pool", "placement", "product"]


class PlacementFilter(django_filters.FilterSet):
    class Meta:
        model = Placement
        fields = ["channel", "format", "active"]


class ProductFilter(django_filters.FilterSet):
    class Meta:
        model = Product
        fields = ["category", "currency"]
