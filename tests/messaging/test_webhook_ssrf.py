"""With BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS off, URLs on private, loopback, link-local,
multicast or reserved addresses are refused at creation and again at delivery."""

import socket
import ssl

import httpx
import pytest

from messaging.models import WebhookDelivery
from messaging.webhooks import (
    WebhookUrlRefused,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_events_record,
    webhook_url_check,
)
from messaging.webhooks.targets import ResolvedTarget, address_is_public
from messaging.webhooks.transport import PinnedTransport, pinned_to
from tests.factories import WebhookEndpointFactory
from tests.messaging.webhook_receiver import Receiver, Reply

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_it_refuses_private_targets_at_creation(workspace_a, settings, url):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(WebhookUrlRefused, match="private or reserved"):
        webhook_endpoint_create(workspace=workspace_a, url=url)


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "http:///nohost"])
def test_it_accepts_only_http_and_https(settings, url):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with pytest.raises(WebhookUrlRefused):
        webhook_url_check(url)


def test_it_accepts_public_addresses(settings):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    webhook_url_check("https://93.184.215.14/hook")


def test_it_rechecks_at_delivery_and_gives_up(workspace_a, settings):
    with Receiver(200) as receiver:
        settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="session.qr", payload={}
        )
        settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
        assert webhook_delivery_attempt(delivery_id=delivery_id) == WebhookDelivery.Status.DEAD
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.last_error.startswith("Refused") and "127.0.0.1" in delivery.last_error
    assert receiver.requests == []


# --- Issue 16: resolve once, check every address, connect to the checked address -----------

PUBLIC_ADDRESS = "93.184.215.14"


class Resolver:
    """A DNS server playing a rebinding attacker for one name: the first answer is
    `first`, every later one `then`. Other names resolve as usual."""

    def __init__(self, name: str, first: str, then: str) -> None:
        self.name, self.first, self.then = name, first, then
        self.calls = 0
        self._real = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host != self.name:
            return self._real(host, port, *args, **kwargs)
        self.calls += 1
        address = self.first if self.calls == 1 else self.then
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]


def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_it(workspace_a, settings, monkeypatch):
    """The issue's attack: the guard's lookup answers a public address, the connection's
    lookup 127.0.0.1. Before, httpx resolved the name again and posted to the local receiver."""
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.BLAZZ_WEBHOOK_CONNECT_TIMEOUT_SECONDS = 0.5
    with Receiver(200) as internal:
        monkeypatch.setattr(socket, "getaddrinfo", Resolver("rebind.example", PUBLIC_ADDRESS, "127.0.0.1"))
        # Created as it was before the name was re-pointed (creation checks too).
        WebhookEndpointFactory(
            workspace=workspace_a, url=f"http://rebind.example:{internal.port}/hooks", events=[]
        )
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="session.qr", payload={}
        )

        webhook_delivery_attempt(delivery_id=delivery_id)

    assert internal.requests == []
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.last_status_code is None and delivery.status == WebhookDelivery.Status.FAILED


def test_it_connects_to_the_checked_address_with_the_original_host(workspace_a, settings, monkeypatch):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # so the pinned address may be the local receiver
    with Receiver(200) as receiver:
        monkeypatch.setattr(socket, "getaddrinfo", Resolver("hooks.example.test", "127.0.0.1", "192.0.2.1"))
        WebhookEndpointFactory(
            workspace=workspace_a, url=f"http://hooks.example.test:{receiver.port}/hooks", events=[]
        )
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="session.qr", payload={}
        )
        assert webhook_delivery_attempt(delivery_id=delivery_id) == WebhookDelivery.Status.DELIVERED
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::7f00:1",  # NAT64 well-known prefix, 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64, 169.254.169.254
        "64:ff9b:1::808:808",  # NAT64 local-use prefix: a network's own translator
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:1::1",  # 6to4 of 192.168.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "::1",
        "::",
        "fe80::1%1",
        "fd00::1",
    ],
)
def test_it_refuses_ipv6_forms_of_private_addresses(address):
    assert not address_is_public(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_it_accepts_public_addresses_in_any_form(address):
    assert address_is_public(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://[2002:7f00:1::1]/hook",
        "http://[64:ff9b:1::808:808]/hook",
    ],
)
def test_it_refuses_translated_ipv6_urls_at_creation(workspace_a, settings, url):
    """Before, these passed: Python's is_global calls them global."""
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(WebhookUrlRefused, match="private or reserved"):
        webhook_endpoint_create(workspace=workspace_a, url=url)


def test_a_name_with_one_private_address_among_public_ones_is_refused(settings, monkeypatch):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    def two_answers(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(WebhookUrlRefused, match=r"10\.0\.0\.7"):
        webhook_url_check("https://mixed.example/hook")


def test_a_redirect_to_an_internal_url_is_not_followed(workspace_a, settings):
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    with Receiver(200) as internal:
        location = f"http://127.0.0.1:{internal.port}/admin/secrets"
        with Receiver(Reply(302, headers={"location": location})) as receiver:
            webhook_endpoint_create(workspace=workspace_a, url=receiver.url)
            [delivery_id] = webhook_events_record(
                workspace_id=workspace_a.id, event_type="session.qr", payload={}
            )
            assert webhook_delivery_attempt(delivery_id=delivery_id) == WebhookDelivery.Status.DEAD
    assert internal.requests == []
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert "redirects are not followed" in delivery.last_error and "admin/secrets" not in delivery.last_error


def test_a_connection_for_a_host_that_was_not_pinned_is_refused():
    """The transport fails closed: without a pin it opens no socket at all."""
    with Receiver(200) as receiver:
        with httpx.Client(transport=PinnedTransport()) as client, pytest.raises(httpx.ConnectError):
            client.post(receiver.url, content=b"{}")
        target = ResolvedTarget(
            scheme="http", host="other.example", port=receiver.port, addresses=("127.0.0.1",)
        )
        with pinned_to(target), httpx.Client(transport=PinnedTransport()) as client:
            with pytest.raises(httpx.ConnectError):
                client.post(receiver.url, content=b"{}")
    assert receiver.requests == []


def test_tls_is_verified_against_the_original_name_while_connecting_to_the_pinned_address(tmp_path):
    """SNI and certificate verification use the URL's host, not the address connected to:
    a certificate for hooks.example.test is accepted at 127.0.0.1, one for another name is not."""
    good = tls_server(tmp_path / "good", "hooks.example.test")
    bad = tls_server(tmp_path / "bad", "elsewhere.example")
    try:
        for server, expect_ok in ((good, True), (bad, False)):
            port = server.server_address[1]
            target = ResolvedTarget(
                scheme="https", host="hooks.example.test", port=port, addresses=("127.0.0.1",)
            )
            context = ssl.create_default_context(cafile=str(server.ca_path))
            with pinned_to(target), httpx.Client(transport=PinnedTransport(verify=context)) as client:
                if expect_ok:
                    assert (
                        client.post(f"https://hooks.example.test:{port}/hooks", content=b"{}").status_code
                        == 200
                    )
                    assert server.sni == ["hooks.example.test"]
                else:
                    with pytest.raises(httpx.ConnectError, match="certificate"):
                        client.post(f"https://hooks.example.test:{port}/hooks", content=b"{}")
    finally:
        for server in (good, bad):
            server.shutdown()
            server.server_close()


def tls_server(directory, name: str):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for `name`, recording the
    SNI names clients send."""
    import datetime
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.sni = []
    server.ca_path = cert_path
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, server_name, ctx: server.sni.append(server_name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
