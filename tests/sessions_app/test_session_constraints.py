"""F3: one connected, live session per (workspace, phone); one primary per workspace."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import WhatsAppSession
from tests.factories import WhatsAppSessionFactory, WorkspaceFactory

PHONE = "+14155550199"
pytestmark = pytest.mark.django_db


def test_it_refuses_a_second_connected_session_for_the_same_phone():
    first = WhatsAppSessionFactory(phone_number=PHONE, status="connected")
    with pytest.raises(IntegrityError), transaction.atomic():
        WhatsAppSessionFactory(workspace=first.workspace, phone_number=PHONE, status="connected")


@pytest.mark.parametrize("old_status", ["disconnected", "stopped", "failed", "qr_scanning"])
def test_it_allows_a_connected_session_beside_a_not_connected_one_of_the_same_phone(old_status):
    old = WhatsAppSessionFactory(phone_number=PHONE, status=old_status)
    WhatsAppSessionFactory(workspace=old.workspace, phone_number=PHONE, status="connected")
    assert WhatsAppSession.objects.filter(phone_number=PHONE).count() == 2


def test_it_allows_a_connected_session_beside_a_soft_deleted_connected_one():
    old = WhatsAppSessionFactory(phone_number=PHONE, status="connected", deleted_at=timezone.now())
    WhatsAppSessionFactory(workspace=old.workspace, phone_number=PHONE, status="connected")


def test_it_allows_the_same_phone_connected_in_two_workspaces():
    WhatsAppSessionFactory(phone_number=PHONE, status="connected")
    WhatsAppSessionFactory(phone_number=PHONE, status="connected")


def test_it_refuses_to_update_a_second_session_to_connected():
    first = WhatsAppSessionFactory(phone_number=PHONE, status="connected")
    second = WhatsAppSessionFactory(workspace=first.workspace, phone_number=PHONE, status="authenticated")
    with pytest.raises(IntegrityError), transaction.atomic():
        WhatsAppSession.objects.filter(pk=second.pk).update(status="connected")


def test_it_keeps_one_primary_number_per_workspace():
    workspace = WorkspaceFactory()
    WhatsAppSessionFactory(workspace=workspace, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        WhatsAppSessionFactory(workspace=workspace, is_primary=True)
    # A soft-deleted primary and another workspace's primary do not count.
    WhatsAppSession.objects.filter(workspace=workspace).update(deleted_at=timezone.now())
    WhatsAppSessionFactory(workspace=workspace, is_primary=True)
    WhatsAppSessionFactory(is_primary=True)


def test_it_keeps_session_ids_unique():
    WhatsAppSessionFactory(session_id="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        WhatsAppSessionFactory(session_id="same")


def test_it_stores_phone_numbers_in_e164():
    session = WhatsAppSessionFactory(phone_number="+1 (415) 555-0199")
    session.refresh_from_db()
    assert str(session.phone_number) == PHONE
    raw = WhatsAppSession.objects.filter(pk=session.pk).values_list("phone_number", flat=True).get()
    assert raw == PHONE
