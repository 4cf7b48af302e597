"""Campaign webhooks cannot be aimed into the server's own network, nor used to probe it.

A webhook URL whose host resolves to a loopback, private, link-local, multicast or reserved
address is refused when it is saved and again when it is called; the call goes to the address
that was checked, follows no redirect, and the stored status is a code, never the receiver's
answer. Every connection these tests let through goes to 127.0.0.1; other addresses only ever
reach a stand-in for `socket.create_connection` that records them and refuses.
"""

import datetime
import os
import socket
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from campaigns import webhooks
from campaigns.errors import WebhookUndeliverable
from campaigns.models import AdCopySet, Campaign, GenerationJob
from campaigns.services.jobs import _job_mark

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "93.184.215.14"  # a global address: only ever handed to the recording stand-in, never connected to


@pytest.fixture
def private_destinations_refused(settings):
    """Production's rule (DEBUG off): the conftest's demo-like allowance is lifted."""
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False


class Receiver:
    """A local HTTP server that records every request and answers with `respond(handler)`."""

    def __init__(self, respond=None, tls: ssl.SSLContext | None = None):
        self.calls: list[dict] = []
        self.server_names: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.calls.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                (respond or (lambda h: h.send_response(200)))(self)
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(respond=None, tls=None) -> Receiver:
        made.append(Receiver(respond, tls))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def dns(monkeypatch):
    """Host names of the test resolve to what the test says (a list per lookup, the last one repeated);
    every other name resolves as usual. Returns (answers by name, lookups made)."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        turn = answers[host][min(len(lookups) - 1, len(answers[host]) - 1)]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
            for a in turn
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers, lookups


@pytest.fixture
def connections(monkeypatch):
    """Every address a connection is opened to; anything but 127.0.0.1 is refused without leaving the process."""
    opened: list[str] = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        opened.append(address[0])
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError(f"test: no connection to {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return opened


def _campaign(url: str) -> Campaign:
    # objects.create skips validation: the row as stored before this check existed, or while allowed.
    return Campaign.objects.create(name="c", copy=AdCopySet.objects.create(name="a", titles=["x"]), webhook_url=url)


def _finish(campaign: Campaign, django_capture_on_commit_callbacks) -> GenerationJob:
    job = GenerationJob.objects.create(campaign=campaign, product_sets_total=1, state="running")
    with django_capture_on_commit_callbacks(execute=True):
        _job_mark(job.pk, "SKU-1")
    job.refresh_from_db()
    return job


def _validate(url: str) -> None:
    campaign = Campaign(name="v", copy=AdCopySet.objects.create(name="v", titles=["x"]), webhook_url=url)
    campaign.full_clean()


# --- refused when saved -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    ],
)
def test_a_webhook_to_an_internal_address_is_refused_when_saved(url, private_destinations_refused):
    """Saving a webhook whose host is or resolves to a non-public address fails validation."""
    with pytest.raises(ValidationError) as refused:
        _validate(url)

    assert "webhook_url" in refused.value.message_dict


def test_a_webhook_to_loopback_is_refused_by_the_api(client, operator, private_destinations_refused, receivers):
    """The operators' API answers 400 naming webhook_url and stores nothing."""
    receiver = receivers()
    campaign = _campaign("")
    client.force_login(operator)

    response = client.patch(f"/api/v1/campaigns/{campaign.pk}/", {"webhook_url": receiver.url()}, "application/json")

    assert response.status_code == 400
    assert "webhook_url" in response.json()["extra"]["fields"]
    campaign.refresh_from_db()
    assert campaign.webhook_url == ""
    assert receiver.calls == []


def test_a_host_name_resolving_to_a_private_address_is_refused_at_save_and_at_send(
    private_destinations_refused, dns, connections, django_capture_on_commit_callbacks
):
    """A name is judged by what it resolves to: refused when saved, refused when called, never connected to."""
    answers, _ = dns
    answers["hooks.example.test"] = [["10.0.0.7"]]
    url = "http://hooks.example.test/hook"

    with pytest.raises(ValidationError):
        _validate(url)
    job = _finish(_campaign(url), django_capture_on_commit_callbacks)

    assert connections == []
    assert job.webhook_status == "failed: destination_not_allowed"
    assert job.webhook_attempts == 1  # a refused destination is not retried


def test_a_name_with_one_private_address_among_public_ones_is_refused(private_destinations_refused, dns, connections):
    """Every address a name resolves to must be public, not just the first."""
    answers, _ = dns
    answers["mixed.example.test"] = [[PUBLIC, "127.0.0.1"]]

    with pytest.raises(ValidationError):
        _validate("http://mixed.example.test/hook")
    assert connections == []


def test_a_name_that_does_not_resolve_is_refused_like_an_internal_one(private_destinations_refused, dns):
    """No answer is no public address: the same refusal, so saving cannot tell internal names from missing ones."""
    answers, _ = dns
    answers["internal.example.test"] = [["10.0.0.8"]]

    with pytest.raises(ValidationError) as internal:
        _validate("http://internal.example.test/hook")
    with pytest.raises(ValidationError) as missing:
        _validate("http://missing.invalid/hook")  # .invalid never resolves (RFC 6761)

    assert internal.value.messages == missing.value.messages


def test_a_host_name_resolving_to_public_addresses_is_accepted(private_destinations_refused, dns, connections):
    """The check refuses internal destinations only: a public receiver can be saved (nothing is connected to)."""
    answers, _ = dns
    answers["hooks.example.test"] = [[PUBLIC]]

    _validate("https://hooks.example.test/creative")

    assert connections == []


# --- refused when sent ------------------------------------------------------------------------------------


def test_a_stored_webhook_to_loopback_is_never_called(
    private_destinations_refused, receivers, django_capture_on_commit_callbacks
):
    """A URL stored before the check (or while it was allowed) is checked again when the job finishes."""
    receiver = receivers()

    job = _finish(_campaign(receiver.url()), django_capture_on_commit_callbacks)

    assert receiver.calls == []
    assert job.webhook_status == "failed: destination_not_allowed"


def test_dns_rebinding_connects_to_the_address_that_was_checked(
    private_destinations_refused, dns, connections, receivers, django_capture_on_commit_callbacks
):
    """Each attempt resolves the name once and connects to that checked answer: a name answering a public
    address first and 127.0.0.1 afterwards (DNS rebinding) never reaches the local receiver."""
    receiver = receivers()
    answers, lookups = dns
    host = "rebind.example.test"
    answers[host] = [[PUBLIC], ["127.0.0.1"]]  # public when first looked up, loopback ever after

    job = _finish(_campaign(f"http://{host}:{receiver.port}/hook"), django_capture_on_commit_callbacks)

    assert receiver.calls == []
    assert connections == [PUBLIC]  # attempt 1: the checked address (the stand-in refuses it)
    assert len(lookups) == 2  # attempt 2: loopback now, refused before connecting
    assert job.webhook_status == "failed: destination_not_allowed"


def test_the_check_and_the_connection_use_one_lookup(private_destinations_refused, dns, connections):
    """One delivery: one lookup, and the connection goes to its (checked) answer."""
    answers, lookups = dns
    answers["rebind.example.test"] = [[PUBLIC], ["127.0.0.1"]]

    with pytest.raises(WebhookUndeliverable) as failed:
        webhooks.webhook_post("http://rebind.example.test/hook", body=b"{}", headers={}, timeout=2)

    assert lookups == ["rebind.example.test"]
    assert connections == [PUBLIC]
    assert failed.value.code == "unreachable"


# --- with private destinations allowed (the demo, the tests): no redirects, codes only --------------------


def test_a_redirect_is_not_followed(receivers, django_capture_on_commit_callbacks):
    """A 302 from the receiver is a failed attempt; the place it points to is never called."""
    elsewhere = receivers()

    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", elsewhere.url())

    receiver = receivers(redirect)

    job = _finish(_campaign(receiver.url()), django_capture_on_commit_callbacks)

    assert len(receiver.calls) == 7 and elsewhere.calls == []
    assert job.webhook_status == "failed: not_accepted (gave up after 7 attempts)"


def test_the_stored_status_is_a_code_not_the_receivers_answer(receivers, django_capture_on_commit_callbacks):
    """Neither the receiver's status code nor the network's error text is stored, so the status probes nothing."""
    teapot = receivers(lambda handler: handler.send_response(418))
    closed = receivers()
    closed_url = closed.url()
    closed.close()  # nothing listens there any more: connection refused

    answered = _finish(_campaign(teapot.url()), django_capture_on_commit_callbacks)
    Campaign.objects.all().delete()
    unreachable = _finish(_campaign(closed_url), django_capture_on_commit_callbacks)

    assert answered.webhook_status == "failed: not_accepted (gave up after 7 attempts)"
    assert unreachable.webhook_status == "failed: unreachable (gave up after 7 attempts)"


def test_the_receiver_sees_the_url_host_and_path(receivers, dns, connections):
    """Connecting to the checked address still sends the URL's own Host header and path."""
    receiver = receivers()
    answers, _ = dns
    answers["hooks.example.test"] = [["127.0.0.1"]]

    webhooks.webhook_post(
        f"http://hooks.example.test:{receiver.port}/hook?campaign=7", body=b"{}", headers={}, timeout=5
    )

    assert connections == ["127.0.0.1"]
    assert receiver.calls[0]["headers"]["Host"] == f"hooks.example.test:{receiver.port}"
    assert receiver.calls[0]["path"] == "/hook?campaign=7"


# --- https: SNI and the certificate are checked against the host name, not the address --------------------


def _certificates(tmp_path: Path, host: str) -> tuple[Path, Path, Path]:
    """(authority certificate, server certificate, server key) files: a test authority signing `host`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test webhook authority")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture
def tls_receiver(tmp_path, receivers, monkeypatch):
    """An https receiver on 127.0.0.1 whose certificate names `certified` (a test authority the client trusts)."""

    def make(certified: str) -> Receiver:
        ca, cert, key = _certificates(tmp_path, certified)
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert, key)
        monkeypatch.setattr(webhooks, "tls_context", lambda: ssl.create_default_context(cafile=str(ca)))
        return receivers(tls=server_context)

    return make


def test_https_checks_the_certificate_against_the_host_name_sent_as_sni(tls_receiver, dns, connections):
    """Over https the client connects to the checked address but sends the host name as SNI and Host,
    and the certificate must be for that name."""
    receiver = tls_receiver("hooks.example.test")
    answers, _ = dns
    answers["hooks.example.test"] = [["127.0.0.1"]]

    status = webhooks.webhook_post(receiver.url("hooks.example.test", "https"), body=b"{}", headers={}, timeout=5)

    assert status == 200 and connections == ["127.0.0.1"]
    assert receiver.server_names == ["hooks.example.test"]
    assert receiver.calls[0]["headers"]["Host"] == f"hooks.example.test:{receiver.port}"


def test_https_to_a_certificate_for_another_name_is_not_sent(tls_receiver, dns, connections):
    """A certificate that does not name the URL's host fails the attempt before anything is sent."""
    receiver = tls_receiver("other.example.test")
    answers, _ = dns
    answers["hooks.example.test"] = [["127.0.0.1"]]

    with pytest.raises(WebhookUndeliverable) as failed:
        webhooks.webhook_post(receiver.url("hooks.example.test", "https"), body=b"{}", headers={}, timeout=5)

    assert failed.value.code == "unreachable"
    assert receiver.calls == []


# --- the setting ---------------------------------------------------------------------------------------


def test_private_destinations_stay_refused_whenever_debug_is_off():
    """WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=true is ignored when DEBUG is off; the demo (DEBUG on) has it on."""
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS)"
    )
    base = {
        k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "WEBHOOK_ALLOW_PRIVATE_DESTINATIONS")
    }
    base["DJANGO_SETTINGS_MODULE"] = "creativeadmin.settings"
    production = {**base, "DEBUG": "false", "SECRET_KEY": "k" * 50, "WEBHOOK_ALLOW_PRIVATE_DESTINATIONS": "true"}

    def value(env: dict) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert value(production) == "False"
    assert value({**base, "DEBUG": "true"}) == "True"
