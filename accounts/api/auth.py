"""`Authorization: Bearer <key>`: a personal API key (accounts.models.UserAPIKey) signs a program in as its owner."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

KEYWORD = "Bearer"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """The user is the key's owner, with the permissions of the owner's role; `request.auth` is the key.

    No CSRF check: the key is not sent by the browser on its own, as a cookie would be.
    Listed first in DEFAULT_AUTHENTICATION_CLASSES, so an unauthenticated request is answered
    401 with `WWW-Authenticate: Bearer` (DRF asks the first authenticator for the challenge).
    """

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        keyword, _, key = header.partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None  # no key, or another scheme (Placement, a session...): not ours
        key = key.strip()
        if not key or " " in key:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: send `Bearer <key>`.")
        # Imported here: DRF imports this class while rest_framework.views loads, and the
        # services import the error contract, which imports rest_framework.views.
        from ..services import ApiKeyRefused, api_key_authenticate

        try:
            api_key = api_key_authenticate(key=key)
        except ApiKeyRefused as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        return (api_key.user, api_key)

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API key (docs/api-access.md): `Authorization: Bearer <prefix>.<secret>`.",
        }
