"""Operators' CRUD API: products, ad copy, placements and campaigns (model permissions apply).

Thin: serializers validate, writes with a business rule go through the services (a product's
image is validated and stored by product_upsert; keys are issued and revoked by serving).
"""

import base64
import binascii
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import transaction
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.idempotency import idempotent
from creativeadmin.json_input import DepthLimitedModelSerializer
from creativeadmin.parsers import BoundedJSONParser
from creativeadmin.permissions import ModelPermissionsIncludingView
from creativeadmin.schema import ErrorSerializer, refusal
from templates_app.models import Template

from .. import selectors, services, serving
from ..filters import CampaignFilter, PlacementFilter, ProductFilter
from ..models import (
    HIGHLIGHT_MAX_CHARS,
    AdCopySet,
    Campaign,
    Placement,
    Product,
    ProductImage,
    ProductPool,
    validate_category_overrides,
    validate_highlights,
)
from ..services import BULK_MAX_ITEMS
from .creatives import FormatIsAFilter

BULK_MAX_BYTES = 64 * 1024 * 1024  # 1,000 products with ~45 KB photos; send fewer per request when they are larger
COPY_MAX_CHARS = 80  # a title or subtitle variant


def _short_text(max_length: int) -> serializers.CharField:
    """One short text of a list (a title, a selling point): 1-max_length characters, not only spaces, kept
    as sent (the JSON model fields store the texts as given). Typed so the schema says what the server takes."""
    return serializers.CharField(
        min_length=1, max_length=max_length, trim_whitespace=False, validators=[RegexValidator(r"\S")]
    )


class RetrySafeCreate:
    """A create honours an Idempotency-Key (a retried create makes one object), and its 201 names the new object's
    URL in `Location` (RFC 9110), so a client need not build it."""

    @idempotent
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    def get_success_headers(self, data):
        field = "id" if self.lookup_field == "pk" else self.lookup_field
        url = reverse(f"{self.basename}-detail", kwargs={self.lookup_url_kwarg or self.lookup_field: data[field]})
        return {"Location": self.request.build_absolute_uri(url)}


class ProductImageSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ProductImage.Kind.choices)
    url = serializers.SerializerMethodField()

    def get_url(self, image) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(image.file.url) if request else image.file.url


class ProductImageUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ProductImage.Kind.choices, help_text="scene (lifestyle) or detail")
    image = serializers.CharField(help_text="The photo, base64 (JPEG, PNG, WebP).")

    def validate_image(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError("Not valid base64.") from exc


class ProductWriteSerializer(DepthLimitedModelSerializer):
    images = ProductImageSerializer(many=True, read_only=True, help_text="Further photos: scenes and details.")
    set_images = ProductImageUploadSerializer(
        many=True,
        write_only=True,
        required=False,
        max_length=services.PRODUCT_IMAGES_MAX,
        help_text="Replace the further photos (lifestyle scenes shown whole in templates that take scenes; "
        "details). Omitted: kept; [] removes them.",
    )
    highlights = serializers.ListField(
        child=_short_text(HIGHLIGHT_MAX_CHARS),
        required=False,
        validators=[validate_highlights],
        help_text="Selling points, one short phrase each.",
    )
    image = serializers.CharField(
        write_only=True,
        required=False,
        help_text="The main image, base64 (JPEG, PNG, WebP): required for a new sku; omitted, an update keeps it.",
    )

    class Meta:
        model = Product
        fields = (
            "id",
            "sku",
            "title",
            "price",
            "currency",
            "category",
            "highlights",
            "short_title",
            "badge",
            "height_cm",
            "main_image",
            "image",
            "images",
            "set_images",
            "updated_at",
        )
        read_only_fields = ("id", "main_image", "updated_at")
        extra_kwargs = {"sku": {"validators": []}}  # an existing sku is updated (upsert), not refused

    def validate_image(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError("Not valid base64.") from exc

    @transaction.atomic  # the product and its further photos land together
    def save(self, **kwargs):
        data = {**self.validated_data, **kwargs}
        instance = self.instance
        self.instance = services.product_upsert(
            sku=data.get("sku", instance.sku if instance else ""),
            title=data.get("title", instance.title if instance else ""),
            price=Decimal(data.get("price", instance.price if instance else 0)),
            image_data=data.get("image"),  # None: an update keeps the stored image
            category=data.get("category", instance.category if instance else ""),
            highlights=data.get("highlights", instance.highlights if instance else []),
            currency=data.get("currency", instance.currency if instance else "CNY"),
            short_title=data.get("short_title", instance.short_title if instance else ""),
            badge=data.get("badge", instance.badge if instance else ""),
            height_cm=data.get("height_cm", instance.height_cm if instance else None),
        )
        if "set_images" in data:
            images = [(item["kind"], item["image"]) for item in data["set_images"]]
            services.product_images_set(product=self.instance, images=images)
        return self.instance


@extend_schema_field(ProductWriteSerializer)
class ProductItemField(serializers.JSONField):
    """One item of the bulk body, documented as a product's create body; the import service checks it (a bad
    item is reported by its row, never refuses the others)."""


class ProductBulkSerializer(serializers.Serializer):
    """Documents the bulk body; the items themselves are checked one by one by the import service."""

    products = serializers.ListField(
        child=ProductItemField(), allow_empty=False,
        help_text=f"1 to {BULK_MAX_ITEMS} items (a bare JSON list is taken too), each {{sku, title, price, image, "
        "category, currency, highlights}}: image the file's bytes in base64 (omit it to keep an existing "
        "product's image; URLs are not fetched), highlights a list.",
    )  # fmt: skip


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = serializers.ListField(
        child=serializers.DictField(),
        help_text="{row, sku, field, message} per refused item; row is the item's index in `products`.",
    )
    message = serializers.CharField(required=False, help_text="Only when nothing was imported (400).")
    code = serializers.CharField(required=False, help_text='"nothing_imported" when nothing was imported (400).')


class ProductsBulkParser(BoundedJSONParser):
    max_bytes = BULK_MAX_BYTES


class ProductViewSet(RetrySafeCreate, viewsets.ModelViewSet):
    """The product catalogue. POST with an existing sku updates it (upsert)."""

    serializer_class = ProductWriteSerializer
    permission_classes = [ModelPermissionsIncludingView]
    lookup_field = "sku"
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductFilter

    def get_queryset(self):
        return selectors.product_list().prefetch_related("images")

    @extend_schema(
        request=ProductBulkSerializer,
        responses={
            200: ImportReportSerializer,
            400: PolymorphicProxySerializer(
                component_name="ProductBulkRefusal",
                serializers=[ImportReportSerializer, ErrorSerializer],
                resource_type_field_name=None,
                many=False,
            ),
        },
        description="400: the import report when no row was imported; the error contract for a malformed body.",
    )
    @action(detail=False, methods=["post"], parser_classes=[ProductsBulkParser])
    @idempotent
    def bulk(self, request):
        """Import up to 1,000 products: the good items are imported (an existing sku is updated), each bad
        one is reported. 200 with the report when any was imported, 400 with it when none was; 413 past
        1,000 items or 64 MB."""
        body = request.data if isinstance(request.data, dict) else {"products": request.data}
        data = ProductBulkSerializer(data=body)
        data.is_valid(raise_exception=True)
        report = services.products_import_json(data.validated_data["products"], user=request.user)
        if report.created or report.updated:
            return Response(report.as_dict())
        nothing = {"message": "No product was imported: every item has an error.", "code": "nothing_imported"}
        return Response({**nothing, **report.as_dict()}, status=400)


class CategoryCopySerializer(serializers.Serializer):
    subtitles = serializers.ListField(child=_short_text(COPY_MAX_CHARS), required=False)
    badge = serializers.CharField(max_length=40, allow_blank=True, required=False, trim_whitespace=False)


class AdCopySetSerializer(DepthLimitedModelSerializer):
    titles = serializers.ListField(
        child=_short_text(COPY_MAX_CHARS), min_length=1, help_text="Title variants (at least one)."
    )
    subtitles = serializers.ListField(child=_short_text(COPY_MAX_CHARS), required=False, help_text="Subtitle variants.")
    category_overrides = serializers.DictField(
        child=CategoryCopySerializer(),
        required=False,
        validators=[validate_category_overrides],
        help_text=AdCopySet._meta.get_field("category_overrides").help_text,
    )

    class Meta:
        model = AdCopySet
        fields = ("id", "name", "titles", "subtitles", "badge", "category_overrides")


class AdCopySetViewSet(RetrySafeCreate, viewsets.ModelViewSet):
    """Ad copy: title and subtitle variants the candidate search combines."""

    queryset = AdCopySet.objects.all()
    serializer_class = AdCopySetSerializer
    permission_classes = [ModelPermissionsIncludingView]


class PlacementSizeField(serializers.ListField):
    """One placement size, [width, height]. Its shape is checked before its numbers: for [300, 250, 1] DRF
    said "greater than or equal to 50" of the third item, or "no more than 2 elements", neither saying what
    a size is."""

    SHAPE = "A size is [width, height]: two whole numbers of pixels, 50-4096 each."

    def to_internal_value(self, data):
        if not isinstance(data, list) or len(data) != 2:
            raise serializers.ValidationError(self.SHAPE, code="invalid")
        return super().to_internal_value(data)


class PlacementSerializer(DepthLimitedModelSerializer):
    sizes = serializers.ListField(
        child=PlacementSizeField(
            child=serializers.IntegerField(min_value=50, max_value=4096), min_length=2, max_length=2
        ),
        min_length=1,
        help_text=Placement._meta.get_field("sizes").help_text,
    )

    class Meta:
        model = Placement
        fields = (
            "id", "name", "channel", "sizes", "format", "max_file_kb", "active", "archived_at", "key_prefix",
            "key_revoked_at",
        )  # fmt: skip
        read_only_fields = ("archived_at", "key_prefix", "key_revoked_at")

    def validate(self, attrs):
        # A PATCH names only what changes: the model's checks see the stored values for the rest.
        stored = {} if self.instance is None else {f: getattr(self.instance, f) for f in ("name", "sizes", "format")}
        Placement(**{**stored, **({} if self.instance is None else {"pk": self.instance.pk}), **attrs}).clean()
        return attrs


class PlacementViewSet(RetrySafeCreate, viewsets.ModelViewSet):
    """Placements; a key is issued (shown once) and revoked through their actions. The list leaves archived
    placements out (`?archived=true` lists only those); one with traffic is archived, never deleted (409)."""

    serializer_class = PlacementSerializer
    permission_classes = [ModelPermissionsIncludingView]
    filter_backends = [DjangoFilterBackend]
    filterset_class = PlacementFilter
    content_negotiation_class = FormatIsAFilter  # ?format=image|video filters, as on the creatives

    def get_queryset(self):
        placements = Placement.objects.all()
        if self.action != "list":
            return placements  # an archived placement is still found by its id
        archived = self.request.query_params.get("archived", "").lower() in ("true", "1", "yes")
        return placements.filter(archived_at__isnull=not archived)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "archived", bool, description="true: list only the archived placements (left out otherwise)."
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses={204: None, 409: ErrorSerializer},
        description="409: it has recorded traffic (events, rollups); archive it instead.",
    )
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.placement_delete(placement=instance)

    @extend_schema(request=None, responses=PlacementSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Stop serving the placement for good and leave it out of the list and of generation; its events
        and rollups stay for the dashboards."""
        return Response(PlacementSerializer(services.placement_archive(placement=self.get_object())).data)

    @extend_schema(request=None, responses=PlacementSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        """Bring an archived placement back: listed, used by generation and served again (if active)."""
        return Response(PlacementSerializer(services.placement_unarchive(placement=self.get_object())).data)

    @extend_schema(request=None, responses={201: inline_serializer("PlacementKey", {"key": serializers.CharField()})})
    @action(detail=True, methods=["post"], url_path="issue-key")
    def issue_key(self, request, pk=None):
        """A new API key for the placement (the previous one stops working). It is shown only here."""
        return Response({"key": serving.placement_key_issue(placement=self.get_object())}, status=201)

    @extend_schema(request=None, responses=PlacementSerializer)
    @action(detail=True, methods=["post"], url_path="revoke-key")
    def revoke_key(self, request, pk=None):
        placement = self.get_object()
        serving.placement_key_revoke(placement=placement)
        return Response(PlacementSerializer(placement).data)


class CampaignSerializer(DepthLimitedModelSerializer):
    products = serializers.SlugRelatedField(slug_field="sku", many=True, queryset=Product.objects.all())
    templates = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Template.objects.filter(status=Template.Status.PUBLISHED)
    )
    placements = serializers.PrimaryKeyRelatedField(many=True, queryset=Placement.objects.all())

    class Meta:
        model = Campaign
        fields = (
            "id", "name", "status", "copy", "pool", "products", "templates", "placements", "products_per_creative",
            "top_k", "candidates_per_size", "seed", "landing_url", "starts_at", "ends_at", "auto_approve_score",
            "webhook_url",
            "webhook_secret", "created_at",
        )  # fmt: skip
        read_only_fields = ("status", "webhook_secret", "created_at")

    def to_representation(self, instance):
        # The webhook secret in full only in the answer that creates the campaign; masked ever after.
        data = super().to_representation(instance)
        if not self.context.get("reveal_webhook_secret"):
            data["webhook_secret"] = instance.webhook_secret_masked
        return data

    def validate(self, attrs):
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError({"ends_at": ["The campaign must end after it starts."]})
        return attrs


class CampaignViewSet(RetrySafeCreate, viewsets.ModelViewSet):
    """Campaigns. Generate with POST /campaigns/{id}/generate; go live with POST /campaigns/{id}/go-live."""

    queryset = Campaign.objects.select_related("copy").prefetch_related("products", "templates", "placements")
    serializer_class = CampaignSerializer
    permission_classes = [ModelPermissionsIncludingView]
    filter_backends = [DjangoFilterBackend]
    filterset_class = CampaignFilter

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "reveal_webhook_secret": self.action == "create"}

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    @extend_schema(responses={204: None, 409: ErrorSerializer}, description="409: it has creatives; end it instead.")
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.campaign_delete(campaign=instance)

    @extend_schema(
        request=None,
        responses={
            200: CampaignSerializer,
            400: refusal("`nothing_approved`: no approved creative to serve yet."),
            409: refusal("`campaign_ended`: reopen it first."),
        },
    )
    @action(detail=True, methods=["post"], url_path="go-live")
    def go_live(self, request, pk=None):
        campaign = services.campaign_go_live(campaign=self.get_object())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(
        request=None, responses={200: CampaignSerializer, 400: refusal("`not_live`: only a live campaign pauses.")}
    )
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Stop serving a live campaign for now (go-live resumes it)."""
        campaign = services.campaign_pause(campaign=self.get_object())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """Stop serving for good; creatives and their statistics are kept. Only reopen brings it back."""
        campaign = services.campaign_end(campaign=self.get_object())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(
        request=None, responses={200: CampaignSerializer, 400: refusal("`not_ended`: only an ended campaign reopens.")}
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Bring an ended campaign back, not serving: paused when it has creatives, draft otherwise (400 unless
        ended). Go-live and generate refuse an ended campaign (409 campaign_ended) until then."""
        campaign = services.campaign_reopen(campaign=self.get_object())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "WebhookSecretRotated",
            {
                "webhook_secret": serializers.CharField(help_text="The new secret, in full: shown only here."),
                "previous_secret_valid_until": serializers.DateTimeField(),
            },
        ),
    )
    @action(detail=True, methods=["post"], url_path="rotate-webhook-secret")
    def rotate_webhook_secret(self, request, pk=None):
        """A new webhook secret (shown only here). Calls are signed with the previous one too until
        `previous_secret_valid_until` (WEBHOOK_SECRET_GRACE_SECONDS), so the receiver can switch without a gap."""
        campaign = self.get_object()
        secret = services.campaign_webhook_secret_rotate(campaign=campaign)
        until = campaign.webhook_secret_rotated_at + timedelta(seconds=settings.WEBHOOK_SECRET_GRACE_SECONDS)
        return Response({"webhook_secret": secret, "previous_secret_valid_until": until})

    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "WebhookPing",
                {
                    "event_id": serializers.CharField(),
                    "status": serializers.CharField(help_text='"delivered" or "failed: <code>".'),
                },
            ),
            400: refusal("`no_webhook`: the campaign has no webhook URL."),
        },
    )
    @action(detail=True, methods=["post"], url_path="webhook-test")
    def webhook_test(self, request, pk=None):
        """Send the campaign's webhook a signed `ping` event now (one attempt) and say whether it was delivered
        (400 no_webhook without a webhook URL)."""
        return Response(services.campaign_webhook_ping(campaign=self.get_object()))


class ProductPoolSerializer(DepthLimitedModelSerializer):
    class Meta:
        model = ProductPool
        fields = ("id", "name", "created_at")


class PoolScoreSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    segment = serializers.CharField(max_length=64, allow_blank=True, default="", help_text="Empty: everyone.")
    score = serializers.FloatField(help_text="Interest: higher ranks first.")


class PoolScoresSerializer(serializers.Serializer):
    scores = PoolScoreSerializer(
        many=True,
        allow_empty=False,
        help_text=f"1 to {services.POOL_SCORES_MAX:,} rows (a bare JSON list is taken too).",
    )

    def to_internal_value(self, data):
        scores = data.get("scores") if isinstance(data, dict) else None
        if isinstance(scores, list):
            services.pool_scores_size_check(count=len(scores))  # 413 before any row is checked
        return super().to_internal_value(data)


class ProductPoolViewSet(RetrySafeCreate, viewsets.ModelViewSet):
    """Product pools; PUT /pools/{id}/scores upserts interest scores per product and segment."""

    queryset = ProductPool.objects.all()
    serializer_class = ProductPoolSerializer
    permission_classes = [ModelPermissionsIncludingView]

    @extend_schema(
        request=PoolScoresSerializer,
        responses={
            200: inline_serializer(
                "PoolScoresUpserted",
                {
                    "upserted": serializers.IntegerField(),
                    "unknown_skus": serializers.ListField(child=serializers.CharField()),
                },
            ),
            413: refusal(f"`too_large`: over {services.POOL_SCORES_MAX:,} scores; nothing stored."),
        },
    )
    @action(detail=True, methods=["put"])
    def scores(self, request, pk=None):
        """Upsert up to 10,000 interest scores {sku, segment, score} in one statement; unknown skus are
        reported, not stored. Serving uses the new ranking at once."""
        pool = self.get_object()
        data = PoolScoresSerializer(data=request.data if isinstance(request.data, dict) else {"scores": request.data})
        data.is_valid(raise_exception=True)
        return Response(services.pool_scores_upsert(pool=pool, rows=data.validated_data["scores"]))
