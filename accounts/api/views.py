"""`/api/v1/api-keys/`: a person lists, makes and revokes their own API keys."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from creativeadmin.permissions import ModelPermissionsIncludingView
from creativeadmin.schema import ErrorSerializer

from .. import services
from ..models import UserAPIKey


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = UserAPIKey
        fields = ("prefix", "name", "created", "expiry_date", "last_used_at", "revoked")
        read_only_fields = ("prefix", "created", "last_used_at", "revoked")
        extra_kwargs = {"name": {"required": True}}  # the model's default is None: a key is always named

    def validate_expiry_date(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must lie in the future: this key would never work.")
        return value


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The key itself: shown this once, stored only as a hash.")

    class Meta(ApiKeySerializer.Meta):
        fields = (*ApiKeySerializer.Meta.fields, "key")


class ApiKeyPermissions(ModelPermissionsIncludingView):
    """View to list, add to make, change to revoke (DELETE revokes: the row stays, for the record)."""

    perms_map = {**ModelPermissionsIncludingView.perms_map, "DELETE": ["%(app_label)s.change_%(model_name)s"]}


@extend_schema_view(
    list=extend_schema(summary="Your API keys (never the keys themselves)"),
    retrieve=extend_schema(summary="One of your API keys"),
    destroy=extend_schema(summary="Revoke one of your API keys, for good", responses={204: None}),
)
class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = ApiKeySerializer
    permission_classes = [ApiKeyPermissions]
    queryset = UserAPIKey.objects.none()  # for the permission class and the schema; get_queryset is per user
    lookup_field = "prefix"

    def get_queryset(self):
        return UserAPIKey.objects.filter(user=self.request.user).order_by("-created")

    @extend_schema(
        summary="Make an API key (shown once)",
        request=ApiKeySerializer,
        responses={
            201: ApiKeyCreatedSerializer,
            403: OpenApiResponse(
                ErrorSerializer,
                description="Not allowed; or the request was signed in with an API key (`key_cannot_make_keys`).",
            ),
        },
    )
    def create(self, request):
        if isinstance(request.auth, UserAPIKey):
            # A leaked key must not be able to outlive its revocation by minting another.
            raise PermissionDenied(
                "Make API keys from a signed-in session, not with a key.", code="key_cannot_make_keys"
            )
        data = ApiKeySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, key = services.api_key_create(user=request.user, **data.validated_data)
        body = ApiKeyCreatedSerializer(api_key).data | {"key": key}
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{api_key.prefix}/")
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def perform_destroy(self, instance):
        services.api_key_revoke(api_key=instance)
