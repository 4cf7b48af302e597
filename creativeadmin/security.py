"""Response headers and proxy trust the whole site shares.

- `SecurityHeadersMiddleware`: the Content-Security-Policy (settings.CONTENT_SECURITY_POLICY: no
  inline script anywhere) and the Permissions-Policy (settings.PERMISSIONS_POLICY) on every answer.
- `TrustedProxyMiddleware`: X-Forwarded-Proto is believed only from the proxies settings.TRUSTED_PROXIES
  names. Django's SECURE_PROXY_SSL_HEADER trusts the header from anyone, so any client could say
  "https" and walk past the SSL redirect; from any other address the header is dropped first.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"


def content_security_policy(directives: dict[str, list[str]]) -> str:
    """The header's value: `directive source source; ...` in the order given."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy and Permissions-Policy headers unless a view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault(
                "Content-Security-Policy", content_security_policy(settings.CONTENT_SECURITY_POLICY)
            )
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def is_trusted_proxy(address: str) -> bool:
    """Whether `address` (the peer, REMOTE_ADDR) is one of settings.TRUSTED_PROXIES (addresses or networks)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


class TrustedProxyMiddleware:
    """Drops X-Forwarded-Proto unless the request came from a trusted proxy; first in MIDDLEWARE, so
    SecurityMiddleware's SSL redirect and request.is_secure() never see a client's own claim."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if FORWARDED_PROTO in request.META and not is_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            del request.META[FORWARDED_PROTO]
        return self.get_response(request)
