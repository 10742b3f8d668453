"""The live OpenAPI schema (`/api/schema/`) tells the truth: schemathesis generates requests
for every /api/v1/ operation from it (valid and invalid: boundary values, then random ones),
sends them in-process to the Django app with a real API key of a workspace that has one of
everything, and checks that no answer is a 5xx and that every status code, content type and
body is one the schema declares for that operation.

In-process: the schema is loaded from the WSGI app when this module is collected (the schema
view is public and needs no database), and every request goes through the same WSGI app on
the test's own database connection, so the rows seeded by `seeded` are visible.

Isolation: each generated request runs in a savepoint that is rolled back, so no example sees
another's writes (a DELETE does not take the seeded rows away from the next example, the
hourly QR budget is never used up) and an error that aborts the transaction cannot poison the
examples after it. Nothing commits, so no `on_commit` work (Celery sends, webhook deliveries,
realtime pushes) ever runs: no worker, broker traffic or outgoing HTTP.

Webhook URLs: creating or re-pointing an endpoint resolves its host (the SSRF guard in
`messaging.webhooks.targets`). The guard stays on (private targets refused, as in production),
but the resolver it calls is replaced by one that never touches the network: IP literals go
through the real `getaddrinfo` with AI_NUMERICHOST, names are IDNA-encoded (a name the real
resolver would refuse fails the same way) and answer one public address. Generated host names
therefore cost no DNS lookup, and the guard's code still runs on every one of them.

Reproducible and bounded: derandomized Hypothesis, a fixed schemathesis seed, no example
database, MAX_EXAMPLES random cases per operation (BLAZZ_FUZZ_EXAMPLES=200 for a deeper local
search). A failure prints the check that failed, the response and a curl command replaying
it; a 5xx also prints the server's traceback (once per distinct traceback)."""

from __future__ import annotations

import os
import socket
import traceback
import types
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_key_create
from campaigns.models import CampaignLog
from messaging.models import WebhookDelivery
from messaging.services.media import media_file_store
from messaging.webhooks import targets as webhook_targets
from tests.factories import (
    CampaignFactory,
    CampaignLogFactory,
    ChatFactory,
    ContactFactory,
    ContactSessionFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
    WhatsAppSessionFactory,
    WorkerInstanceFactory,
)

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("BLAZZ_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
# Not private, loopback, link-local, multicast or reserved: the SSRF guard accepts it.
PUBLIC_ADDRESS = "93.184.215.14"
# A 1x1 PNG: an uploaded file the sends and campaigns can name by its uuid.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)


# --- The app, in-process, inside the test's transaction ---------------------------------------------


def _in_test_transaction(handler: WSGIHandler):
    """Django's WSGI handler minus the per-request `close_old_connections` (Django's own
    test client drops it the same way): inside the test's transaction it would close the
    connection the seeded rows live on."""

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            try:
                body = b"".join(response)
            finally:
                response.close()  # sends request_finished, which must not close it either
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]

    return app


schema = schemathesis.openapi.from_wsgi("/api/schema/", _in_test_transaction(WSGIHandler())).include(
    path_regex=r"^/api/v1/"
)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
schema.config.seed = 20240601

# Filled by `seeded` before Hypothesis draws the first example of each test.
_KNOWN_IDS: dict[str, list] = {}
_KNOWN_BODY_VALUES: dict[str, list] = {}


@schema.hook("flatmap_path_parameters")
def known_ids_too(context, path_parameters):
    """A generated uuid almost never exists; as often as not, use one that does."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {name: st.sampled_from([value, *_KNOWN_IDS.get(name, [])]) for name, value in path_parameters.items()}
    )


@schema.hook("flatmap_body")
def known_values_too(context, body):
    """A random string is almost never a valid phone number or a number's uuid, so sends,
    pairing codes and campaigns would never get past validation; as often as not, use a value
    that passes it, so the services behind are fuzzed too."""
    if not isinstance(body, dict) or not body:
        return st.just(body)
    return st.fixed_dictionaries(
        {name: st.sampled_from([value, *_KNOWN_BODY_VALUES.get(name, [])]) for name, value in body.items()}
    )


# --- Server tracebacks --------------------------------------------------------------------------------

_REPORTED_TRACEBACKS: set[str] = set()
_exceptions: list[str] = []


def _record_exception(sender, request=None, **kwargs) -> None:
    _exceptions.append(traceback.format_exc())


@pytest.fixture
def server_tracebacks():
    """The traceback of every unhandled exception a view raises (Django answers those with a
    bare 500 page), so a 5xx failure says where it came from."""
    got_request_exception.connect(_record_exception, dispatch_uid="schemathesis-tracebacks")
    try:
        yield _exceptions
    finally:
        got_request_exception.disconnect(dispatch_uid="schemathesis-tracebacks")
        _exceptions.clear()


# --- No DNS for generated webhook hosts --------------------------------------------------------------


def _offline_getaddrinfo(host, port, *args, **kwargs):
    kwargs.pop("flags", None)
    real = socket.getaddrinfo
    try:
        return real(host, port, *args, flags=socket.AI_NUMERICHOST, **kwargs)
    except socket.gaierror:
        pass  # a name, not an address literal
    if isinstance(host, str):
        host.encode("idna")  # raises UnicodeError where the real resolver would
    address = "127.0.0.1" if host == "localhost" else PUBLIC_ADDRESS
    return real(address, port, *args, flags=socket.AI_NUMERICHOST, **kwargs)


@pytest.fixture
def offline_webhook_resolver(monkeypatch, settings):
    assert hasattr(webhook_targets, "socket"), "the SSRF guard no longer resolves through `socket`"
    settings.BLAZZ_WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    fake = types.SimpleNamespace(**{name: getattr(socket, name) for name in dir(socket) if name.isupper()})
    fake.gaierror = socket.gaierror
    fake.getaddrinfo = _offline_getaddrinfo
    monkeypatch.setattr(webhook_targets, "socket", fake)


# --- A workspace with something behind every uuid ----------------------------------------------------


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # alice's password would be hashed with PBKDF2: a quarter of a second per operation.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def quick_media_urls(settings):
    # A generated `media_url` names a host the offline resolver answers with PUBLIC_ADDRESS:
    # the fetch really tries to connect there (the guard passes it). It must fail fast, not
    # wait out the production timeouts once per example.
    settings.BLAZZ_MEDIA_URL_CONNECT_TIMEOUT_SECONDS = 0.2
    settings.BLAZZ_MEDIA_URL_TIMEOUT_SECONDS = 0.2
    settings.BLAZZ_MEDIA_URL_DEADLINE_SECONDS = 0.5


@pytest.fixture(autouse=True)
def no_throttling(settings):
    # Throttles are tested elsewhere (tests/blazz/test_api_throttles.py). With one key for
    # every example they would turn answers into 429s (declared, so "passing") and hide the rest.
    settings.BLAZZ_API_THROTTLE_RATE = ""
    settings.BLAZZ_API_SEND_THROTTLE_RATE = ""


@pytest.fixture
def seeded(workspace_a, alice) -> str:
    """One of each object the API exposes, in every state a verb can act on; returns the
    raw API key of the workspace."""
    now = timezone.now()
    worker = WorkerInstanceFactory(capacity=50)  # a live worker: POST /sessions can succeed
    connected = WhatsAppSessionFactory(
        workspace=workspace_a,
        status="connected",
        phone_number="+12015550101",
        is_primary=True,
        assigned_worker=worker,
        last_connected_at=now,
    )
    scanning = WhatsAppSessionFactory(
        workspace=workspace_a,
        status="qr_scanning",
        qr_code="2@abcdef,ghijkl,mnopqr",
        qr_expires_at=now + timedelta(seconds=20),
        assigned_worker=worker,
        metadata={"link_code": {"code": "ABCD1234", "phone_number": "+12015550103", "at": now.isoformat()}},
    )
    contact = ContactFactory(
        workspace=workspace_a, phone="+12015550102", name="Dana", metadata={"city": "Recife"}, tags=["vip"]
    )
    ContactSessionFactory(contact=contact, whatsapp_session=connected)
    inbound = ChatFactory(workspace=workspace_a, whatsapp_session=connected, contact=contact, body="hi")
    outbound = ChatFactory(
        workspace=workspace_a,
        whatsapp_session=connected,
        contact=contact,
        direction="outbound",
        status="sent",
        wam_id="true_12015550102@c.us_ABC",
        sent_at=now,
        body="hello back",
    )
    endpoint = WebhookEndpointFactory(workspace=workspace_a, url=f"https://{PUBLIC_ADDRESS}/hook", events=[])
    dead = WebhookDeliveryFactory(endpoint=endpoint, status=WebhookDelivery.Status.DEAD, attempts=8)
    delivered = WebhookDeliveryFactory(endpoint=endpoint, status=WebhookDelivery.Status.DELIVERED, attempts=1)
    draft = CampaignFactory(workspace=workspace_a, body="Hi {{name}}", audience={"kind": "all"})
    running = CampaignFactory(
        workspace=workspace_a, status="running", audience={"kind": "all"}, started_at=now, total_count=1
    )
    running.sessions.set([connected])
    CampaignLogFactory(
        campaign=running, contact=contact, whatsapp_session=connected, status=CampaignLog.Status.PENDING
    )
    _KNOWN_IDS.clear()
    _KNOWN_IDS.update(
        {
            "session_uuid": [str(connected.uuid), str(scanning.uuid)],
            "contact_uuid": [str(contact.uuid)],
            "chat_uuid": [str(inbound.uuid), str(outbound.uuid)],
            "webhook_uuid": [str(endpoint.uuid)],
            "delivery_id": [dead.pk, delivered.pk],
            "campaign_uuid": [str(draft.uuid), str(running.uuid)],
        }
    )
    photo = media_file_store(workspace=workspace_a, data=PNG, kind="image", filename="p.png")
    _KNOWN_BODY_VALUES.clear()
    _KNOWN_BODY_VALUES.update(
        {
            "to": ["+12015550102", "+12015550199"],
            "phone_number": ["+12015550103"],
            "session": [str(connected.uuid), str(scanning.uuid), None],
            "sessions": [[str(connected.uuid)], []],
            "url": [f"https://{PUBLIC_ADDRESS}/other", "https://hooks.example.com/blazz"],
            "media": [str(photo.uuid)],
            "location": [{"lat": -8.05, "lng": -34.88, "name": "Shop"}],
            "contact_card": [{"name": "Ana", "phone": "+12015550104"}],
            "audience": [
                {"kind": "list", "phones": ["+12015550104"], "contacts": [str(contact.uuid)]},
                {"kind": "filter", "metadata": {"city": "Recife"}},
            ],
        }
    )
    return api_key_create(workspace=workspace_a, name="schemathesis", created_by=alice)[1]


# --- The test -----------------------------------------------------------------------------------------


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    # The seeded rows are function-scoped on purpose: every example is rolled back to them.
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, seeded, offline_webhook_resolver, server_tracebacks):
    server_tracebacks.clear()
    with transaction.atomic():
        response = case.call(headers={"Authorization": f"Api-Key {seeded}"})
        transaction.set_rollback(True)
    if response.status_code >= 500:
        for tb in server_tracebacks:
            if tb not in _REPORTED_TRACEBACKS:
                _REPORTED_TRACEBACKS.add(tb)
                print(f"\n--- server traceback of {case.method} {case.formatted_path} ---\n{tb}")
    case.validate_response(response, checks=CHECKS)
