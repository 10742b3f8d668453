"""Agents answer chats; they do not manage API keys, webhooks or numbers. Every UI route is
found from the URL resolver and must be classified below, so a new page cannot arrive
without someone deciding who may use it; every manager-only route is then tried by carol
(an agent of workspace A) on A's own objects, and must refuse her and change nothing."""

import pytest
from django.urls import reverse

from accounts.models import ApiKey
from campaigns.models import Campaign
from messaging.models import WebhookDelivery, WebhookEndpoint
from sessions_app.models import SessionEvent, WhatsAppSession
from tests.accounts.test_tenant_isolation import EXCLUDED_PREFIXES, OBJECT_FOR_KWARG, iter_routes

pytestmark = pytest.mark.django_db

MANAGERS_ONLY = {
    "accounts:workspace_settings",
    "campaigns:campaign_start_confirm",
    "messaging:contact_import_new",
    "messaging:contact_import",
    "messaging:contact_delete",
    "messaging:contact_export",
    "messaging:inbox_settings",
    "accounts:team",
    "accounts:team_member",
    "accounts:invitation_revoke",
    "sessions_app:session_rename",
    "accounts:api_keys",
    "accounts:api_key_revoke",
    "sessions_app:session_add",
    "sessions_app:session_start",
    "sessions_app:session_restart",
    "sessions_app:session_stop",
    "sessions_app:session_logout",
    "sessions_app:session_delete",
    "sessions_app:session_primary",
    "sessions_app:session_refresh_qr",
    "sessions_app:session_link_code",
    "webhooks:webhook_list",
    "webhooks:webhook_toggle",
    "webhooks:webhook_delete",
    "webhooks:webhook_rotate_secret",
    "webhooks:webhook_deliveries",
    "webhooks:webhook_redeliver",
    "campaigns:campaign_new",
    "campaigns:campaign_edit",
    "campaigns:campaign_start",
    "campaigns:campaign_pause",
    "campaigns:campaign_resume",
    "campaigns:campaign_cancel",
    "campaigns:campaign_delete",
}
# Agents read these (their writes, such as a reply, are what agents are for).
MEMBERS = {
    "dashboard",
    "accounts:workspace_create",
    "accounts:workspace_switch",
    "sessions_app:session_list",
    "sessions_app:session_detail",
    "sessions_app:session_qr_svg",
    "campaigns:campaign_list",
    "campaigns:campaign_detail",
    "messaging:inbox",
    "messaging:inbox_conversation",
    "messaging:inbox_reply",
    "messaging:inbox_assign",
    "messaging:inbox_status",
    "messaging:inbox_unread",
    "messaging:inbox_read",
    "messaging:inbox_note",
    "messaging:inbox_quick_reply",
    "messaging:conversation",
    "messaging:conversation_reply",
    "messaging:conversation_read",
    "messaging:contact_list",
    "messaging:contact_detail",
    # The health page shows an agent only their workspace's figures (tests/blazz/test_health_page.py).
    "health",
    "metrics",
}


def ui_routes():
    return [
        route
        for route in iter_routes()
        if not route.name.startswith(EXCLUDED_PREFIXES) and not route.name.startswith("api-")
    ]


def state_of(workspace) -> tuple:
    """What a manager-only route could change, in one comparable value."""
    return (
        sorted(ApiKey.objects.filter(workspace=workspace).values_list("name", "revoked")),
        sorted(
            WhatsAppSession.objects.filter(workspace=workspace).values_list(
                "session_id", "status", "is_primary", "deleted_at"
            )
        ),
        SessionEvent.objects.filter(session__workspace=workspace).count(),
        sorted(WebhookEndpoint.objects.filter(workspace=workspace).values_list("url", "is_active")),
        sorted(
            WebhookDelivery.objects.filter(endpoint__workspace=workspace).values_list(
                "id", "status", "attempts"
            )
        ),
        sorted(Campaign.objects.filter(workspace=workspace).values_list("name", "status")),
    )


def test_it_classifies_every_ui_route():
    names = {route.name for route in ui_routes()}
    assert not names - MANAGERS_ONLY - MEMBERS, "decide who may use these routes"
    assert not (MANAGERS_ONLY | MEMBERS) - names, "these routes no longer exist"
    assert not MANAGERS_ONLY & MEMBERS


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_agents_every_manager_only_route(carol_client, workspace_a, alice, method):
    routes = [route for route in ui_routes() if route.name in MANAGERS_ONLY]
    objects = {kw: OBJECT_FOR_KWARG[kw](workspace_a, alice) for route in routes for kw in route.kwargs}
    before = state_of(workspace_a)

    for route in routes:
        path = reverse(route.name, kwargs={kw: objects[kw] for kw in route.kwargs})
        response = getattr(carol_client, method)(path, {"name": "x", "url": "https://a.example/"})
        assert response.status_code in (403, 405), f"{method.upper()} {path} → {response.status_code}"

    assert state_of(workspace_a) == before
    assert len(routes) == len(MANAGERS_ONLY)


def test_it_lets_managers_through_the_same_routes(alice_client, workspace_a, alice):
    """The refusal above is about the role, not a broken page: alice reaches each GET page."""
    pages = [r for r in ui_routes() if r.name in MANAGERS_ONLY and not r.kwargs]
    objects = {kw: OBJECT_FOR_KWARG[kw](workspace_a, alice) for kw in ("webhook_uuid", "campaign_uuid")}
    pages += [r for r in ui_routes() if r.name in ("webhooks:webhook_deliveries", "campaigns:campaign_edit")]
    for route in pages:
        path = reverse(route.name, kwargs={kw: objects[kw] for kw in route.kwargs})
        response = alice_client.get(path)
        assert response.status_code in (200, 405), f"GET {path} → {response.status_code}"
