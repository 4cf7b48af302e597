"""Where a campaign's webhook may point, and the one HTTP client that calls it.

A webhook URL is an operator's input that the server fetches, so it must not reach the
server's own network. Every address its host name resolves to must be a public one (not
loopback, private, link-local, multicast, reserved or unspecified, nor one of those inside an
IPv6 wrapping) when the URL is saved and again each time it is called; a name that does not
resolve is refused the same way, so the answer never tells an internal name from a missing one.
The call connects to an address that was checked (no second lookup that a rebinding DNS server
could answer differently), sends the URL's own Host header and, over https, checks the
certificate against the host name (SNI); redirects are never followed.

WEBHOOK_ALLOW_PRIVATE_DESTINATIONS lifts the address check (the demo and the tests call
receivers on 127.0.0.1); settings.py keeps it off whenever DEBUG is off.
"""

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from .errors import WebhookUndeliverable

# NAT64 (RFC 6052) addresses carry an IPv4 address in their last 32 bits, which the gateway connects to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def address_is_public(address: str) -> bool:
    """Whether a webhook may connect to this IP address (a literal, as getaddrinfo returns it)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is link-local anyway
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (ip.sixtofour if ip.sixtofour else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_is_public(str(embedded))
        if ip.teredo or ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def _target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a webhook URL; WebhookUndeliverable when it is not one."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number, brackets that do not close
        raise WebhookUndeliverable("destination_not_allowed", f"not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookUndeliverable("destination_not_allowed", "only http and https URLs with a host are called")
    port = port or (443 if parts.scheme == "https" else 80)
    try:  # an internationalised name goes on the wire (Host:, SNI) as its ASCII form, as a browser sends it
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise WebhookUndeliverable("destination_not_allowed", f"not a host name: {exc}") from exc
    # Spaces and non-ASCII letters in the path and query percent-encoded as a browser would (http.client
    # refuses them raw); escapes already there are kept.
    path = quote(parts.path or "/", safe=_URL_SAFE) + (
        f"?{quote(parts.query, safe=_URL_SAFE + '?')}" if parts.query else ""
    )
    return parts.scheme, host, port, path


_URL_SAFE = "/%:@!$&'()*+,;=~"


def _checked_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, each checked; WebhookUndeliverable unless every one may be called."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise WebhookUndeliverable("destination_not_allowed", f"{host} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise WebhookUndeliverable("destination_not_allowed", f"{host} resolves to no address")
    if not settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS:
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            # All or nothing: a name with one internal address among public ones is refused too.
            raise WebhookUndeliverable("destination_not_allowed", f"{host} resolves to {', '.join(refused)}")
    return addresses


def webhook_url_validate(value: str) -> None:
    """Campaign.webhook_url's validator: ValidationError unless the URL's host resolves to public addresses only."""
    if not value or settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS:
        return
    try:
        _, host, port, _ = _target(value)
        _checked_addresses(host, port)
    except WebhookUndeliverable as exc:
        # One message for every refusal: which one it was would tell internal names and addresses apart.
        raise ValidationError(
            "A webhook must be an http(s) URL whose host resolves to public internet addresses only "
            "(not loopback, private, link-local, multicast or reserved ones).",
            code=exc.code,
        ) from exc


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to `address`, whatever the host name resolves to now; Host: stays the name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As _PinnedHTTPConnection, over TLS: SNI and the certificate check are for the host name, not the address."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=tls_context())
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def tls_context() -> ssl.SSLContext:
    """The system's trusted certificates, host names checked (a test may hand in its own authority)."""
    return ssl.create_default_context()


def webhook_post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to `url` and return the receiver's 2xx status; WebhookUndeliverable otherwise.

    The host is resolved once and every address checked (see the module docstring); the
    connection goes to those addresses in turn, never to a fresh lookup. A 3xx is an answer
    like any other non-2xx: the redirect is not followed.
    """
    scheme, host, port, path = _target(url)
    addresses = _checked_addresses(host, port)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    last_error: Exception | None = None
    for address in addresses:
        connection = connection_class(host, port, address=address, timeout=timeout)
        try:
            connection.connect()
        except OSError as exc:  # refused, unroutable, timed out, TLS (ssl.SSLError is an OSError)
            connection.close()
            last_error = exc
            continue
        try:
            connection.request("POST", path, body=body, headers=headers)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: a header it cannot send
            raise WebhookUndeliverable("unreachable", f"{host} ({address}): {exc}") from exc
        finally:
            connection.close()
        if not 200 <= status < 300:
            raise WebhookUndeliverable("not_accepted", f"{host} ({address}) answered {status}")
        return status
    raise WebhookUndeliverable("unreachable", f"{host} ({', '.join(addresses)}): {last_error}")
