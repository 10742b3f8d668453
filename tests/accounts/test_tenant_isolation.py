"""A member of workspace A never reaches workspace B's objects. Every URL pattern is found
from the resolver, so a new endpoint is covered (or this test fails asking for a factory)."""

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Invitation
from accounts.services import api_key_create
from messaging.models import ContactImport, MediaFile
from tests.conftest import logged_in_client
from tests.factories import (
    CampaignFactory,
    ChatFactory,
    ContactFactory,
    ContactSessionFactory,
    QuickReplyFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db

SECRET = "BOBS-PRIVATE-MARKER"
# session_id is unique and several routes take a session: each call makes a new one.
_session_numbers = itertools.count()

# How to make one of B's objects for each id kwarg a URL may take.
OBJECT_FOR_KWARG: dict[str, Callable] = {
    "contact_uuid": lambda ws, user: ContactFactory(workspace=ws, name=SECRET).uuid,
    "session_uuid": lambda ws, user: (
        WhatsAppSessionFactory(workspace=ws, session_id=f"{SECRET}-s{next(_session_numbers)}").uuid
    ),
    "key_uuid": lambda ws, user: api_key_create(workspace=ws, name=SECRET, created_by=user)[0].uuid,
    "workspace_uuid": lambda ws, user: ws.uuid,
    "campaign_uuid": lambda ws, user: CampaignFactory(workspace=ws, name=SECRET, body=SECRET).uuid,
    "webhook_uuid": lambda ws, user: (
        WebhookEndpointFactory(workspace=ws, url=f"https://{SECRET}.example/").uuid
    ),
    "delivery_id": lambda ws, user: (
        WebhookDeliveryFactory(endpoint__workspace=ws, payload={"marker": SECRET}, status="dead").id
    ),
    "conversation_uuid": lambda ws, user: (
        ContactSessionFactory(
            contact=ContactFactory(workspace=ws, name=SECRET),
            whatsapp_session=WhatsAppSessionFactory(
                workspace=ws, session_id=f"{SECRET}-v{next(_session_numbers)}"
            ),
        ).uuid
    ),
    "user_id": lambda ws, user: user.pk,
    # E-mailed links (sign-up confirmation, invitations): pages that answer any token.
    "token": lambda ws, user: "no-such-token",
    "invitation_uuid": lambda ws, user: (
        Invitation.objects.create(
            workspace=ws,
            email=f"{SECRET.lower()}@example.com",
            token_hash=uuid.uuid4().hex,
            expires_at=timezone.now() + timedelta(days=1),
        ).uuid
    ),
    "media_uuid": lambda ws, user: (
        MediaFile.objects.create(
            workspace=ws, sha256=uuid.uuid4().hex * 2, size=1, mimetype="text/plain", storage_name=SECRET
        ).uuid
    ),
    "import_uuid": lambda ws, user: ContactImport.objects.create(workspace=ws, filename=SECRET).uuid,
    "quick_reply_uuid": lambda ws, user: QuickReplyFactory(workspace=ws, shortcut="secret", body=SECRET).uuid,
    "chat_uuid": lambda ws, user: (
        ChatFactory(
            workspace=ws,
            body=SECRET,
            whatsapp_session=WhatsAppSessionFactory(
                workspace=ws, session_id=f"{SECRET}-c{next(_session_numbers)}"
            ),
        ).uuid
    ),
}
# Not tenant data: the admin (staff see all workspaces by design), the schema and docs,
# the health probe, and the auth pages.
EXCLUDED_PREFIXES = (
    "admin",
    "api-schema",
    "api-docs",
    "healthz",
    "accounts:login",
    "accounts:logout",
    "accounts:signup",
    "accounts:invitation_accept",  # the token is the authority, not a workspace (test_team.py)
    "media-signed",  # a signed media link: the signature is the authority (tests/messaging/test_media_api.py)
)


def body_of(response) -> bytes:
    """The whole body, streamed (a CSV export) or not."""
    return b"".join(response.streaming_content) if response.streaming else response.content


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: tuple[str, ...]


def iter_routes(patterns=None, namespace: str = "") -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            child_ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from iter_routes(entry.url_patterns, child_ns)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"unnamed URL pattern {entry.pattern}: name it so isolation can be tested"
            yield Route(f"{namespace}{entry.name}", tuple(entry.pattern.converters))


def tenant_routes() -> list[Route]:
    return [r for r in iter_routes() if not r.name.startswith(EXCLUDED_PREFIXES)]


@pytest.fixture
def clients(alice, workspace_a, workspace_b):
    ui = logged_in_client(alice, workspace_a)
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION="Api-Key " + api_key_create(workspace=workspace_a, name="a", created_by=alice)[1]
    )
    return ui, api


def client_for(route_path: str, clients):
    ui, api = clients
    return api if route_path.startswith("/api/") else ui


def test_it_finds_every_id_route(db):
    unknown = {kw for r in tenant_routes() for kw in r.kwargs} - set(OBJECT_FOR_KWARG)
    assert not unknown, f"add a factory to OBJECT_FOR_KWARG for {unknown}"
    assert any(r.kwargs for r in tenant_routes())


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_it_answers_404_for_another_workspaces_objects(clients, workspace_b, bob, method):
    checked = 0
    for route in tenant_routes():
        if not route.kwargs:
            continue
        kwargs = {kw: OBJECT_FOR_KWARG[kw](workspace_b, bob) for kw in route.kwargs}
        path = reverse(route.name, kwargs=kwargs)
        response = getattr(client_for(path, clients), method)(path)
        assert response.status_code in (404, 405), f"{method.upper()} {path} → {response.status_code}"
        assert SECRET.encode() not in body_of(response)
        checked += response.status_code == 404
    # Every id route answers GET; PATCH/DELETE routes arrive with later APIs.
    assert checked > 0 or method in ("patch", "delete")


def test_it_never_lists_another_workspaces_rows(clients, workspace_b, bob):
    for maker in OBJECT_FOR_KWARG.values():
        maker(workspace_b, bob)
    listed = 0
    for route in tenant_routes():
        if route.kwargs:
            continue
        path = reverse(route.name)
        response = client_for(path, clients).get(path)
        assert response.status_code in (200, 405), f"GET {path} → {response.status_code}"
        assert SECRET.encode() not in body_of(response), f"GET {path} shows workspace B's data"
        listed += response.status_code == 200
    assert listed > 0


def test_it_shows_a_workspace_its_own_objects(alice, workspace_a):
    contact = ContactFactory(workspace=workspace_a, name="Mine")
    session = WhatsAppSessionFactory(workspace=workspace_a)
    client = logged_in_client(alice, workspace_a)
    assert (
        client.get(reverse("messaging:contact_detail", kwargs={"contact_uuid": contact.uuid})).status_code
        == 200
    )
    assert (
        client.get(reverse("sessions_app:session_detail", kwargs={"session_uuid": session.uuid})).status_code
        == 200
    )
