"""Staff can open every model in the admin: list, search, add and change pages render."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.factories import UserFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"accounts", "sessions_app", "messaging", "campaigns"}


@pytest.fixture
def staff_client(client):
    user = UserFactory(username="staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_it_registers_every_project_model():
    from django.apps import apps

    missing = [
        m._meta.label
        for m in apps.get_models()
        if m._meta.app_label in PROJECT_APPS and m not in admin.site._registry
    ]
    assert not missing


def test_it_renders_every_admin_page(staff_client):
    for factory in (
        factories.ChatFactory,
        factories.ContactSessionFactory,
        factories.WebhookDeliveryFactory,
        factories.CampaignLogFactory,
        factories.SessionSnapshotFactory,
        factories.SessionEventFactory,
        factories.WorkerInstanceFactory,
        factories.MembershipFactory,
    ):
        factory()
    for model, _ in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        changelist = staff_client.get(reverse(f"{prefix}_changelist"), {"q": "x"})
        assert changelist.status_code == 200, prefix
        assert staff_client.get(reverse(f"{prefix}_add")).status_code in (200, 403), prefix
        obj = model._default_manager.first()
        if obj is not None:
            change = staff_client.get(reverse(f"{prefix}_change", args=[obj.pk]))
            assert change.status_code == 200, prefix


def test_it_shows_soft_deleted_sessions_to_staff(staff_client):
    WhatsAppSessionFactory(session_id="gone-session", deleted_at=timezone.now())
    response = staff_client.get(reverse("admin:sessions_app_whatsappsession_changelist"))
    assert b"gone-session" in response.content
    # The UI hides it from the workspace's own list.


def test_admin_labels_read_as_english():
    """Issue 19: the admin said "Whats app sessions" and "Webhook deliverys"."""
    labels = {
        model._meta.label: (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
    }
    assert labels["sessions_app.WhatsAppSession"] == ("WhatsApp number", "WhatsApp numbers")
    assert labels["messaging.WebhookDelivery"][1] == "webhook deliveries"
    assert labels["messaging.Chat"] == ("message", "messages")
    for label, (singular, plural) in labels.items():
        assert "whats app" not in plural.lower(), label
        assert not plural.endswith(("ys", "ss")) or plural.endswith(("days", "keys")), (label, plural)
