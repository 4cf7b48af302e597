"""Placements authenticate with their API key: `Authorization: Placement <key>` or `X-Placement-Key`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from ..errors import PlacementKeyInvalid
from ..serving import placement_for_key


class PlacementKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        # From META, not request.headers: building the headers' mapping cost more than the lookup (per serve).
        meta = request.META
        header = meta.get("HTTP_AUTHORIZATION", "")
        key = header[len("Placement ") :] if header.startswith("Placement ") else meta.get("HTTP_X_PLACEMENT_KEY")
        if not key:
            if header:  # another scheme (a personal API key's Bearer): say which key this endpoint takes
                raise exceptions.AuthenticationFailed(
                    "This endpoint takes a placement's key (`Authorization: Placement <key>` or `X-Placement-Key`); "
                    "personal API keys are for the operators' API.",
                    code="placement_key_required",
                )
            return None
        try:
            placement = placement_for_key(key.strip())
        except PlacementKeyInvalid as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        return (None, placement)

    def authenticate_header(self, request):
        return "Placement"


class IsPlacement(permissions.BasePermission):
    def has_permission(self, request, view):
        from ..models import Placement

        return isinstance(request.auth, Placement)


class PlacementKeyScheme(OpenApiAuthenticationExtension):
    """Either header carries a placement's key: `Authorization: Placement <key>` or `X-Placement-Key: <key>`."""

    target_class = PlacementKeyAuthentication
    name = ["placementAuthorization", "placementKey"]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]  # one or the other

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "Placement",
                "description": "A placement's key in the Authorization header: `Authorization: Placement <key>`.",
            },
            {"type": "apiKey", "in": "header", "name": "X-Placement-Key", "description": "A placement's key."},
        ]
