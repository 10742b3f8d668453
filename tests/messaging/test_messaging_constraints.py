import pytest
from django.db import IntegrityError, transaction

from messaging.models import Chat
from tests.factories import ChatFactory, ContactFactory, ContactSessionFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_a_duplicate_wam_id_on_the_same_session():
    chat = ChatFactory(wam_id="true_123@c.us_ABC")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatFactory(
            workspace=chat.workspace, whatsapp_session=chat.whatsapp_session, wam_id="true_123@c.us_ABC"
        )


def test_it_allows_the_same_wam_id_on_another_session_and_many_null_wam_ids():
    chat = ChatFactory(wam_id="X1")
    other_session = WhatsAppSessionFactory(workspace=chat.workspace)
    ChatFactory(workspace=chat.workspace, whatsapp_session=other_session, wam_id="X1")
    ChatFactory(workspace=chat.workspace, whatsapp_session=chat.whatsapp_session, wam_id=None)
    ChatFactory(workspace=chat.workspace, whatsapp_session=chat.whatsapp_session, wam_id=None)
    assert Chat.objects.filter(whatsapp_session=chat.whatsapp_session, wam_id__isnull=True).count() == 2


def test_it_refuses_a_reused_idempotency_key_in_one_workspace_but_not_across_workspaces():
    chat = ChatFactory(idempotency_key="order-42", direction="outbound")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatFactory(workspace=chat.workspace, idempotency_key="order-42", direction="outbound")
    ChatFactory(idempotency_key="order-42", direction="outbound")
    ChatFactory(workspace=chat.workspace, idempotency_key=None)
    ChatFactory(workspace=chat.workspace, idempotency_key=None)


def test_it_keeps_one_contact_per_phone_per_workspace():
    contact = ContactFactory(phone="+14155550111")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactFactory(workspace=contact.workspace, phone="+14155550111")
    ContactFactory(phone="+14155550111")


def test_it_keeps_one_contact_session_per_pair():
    link = ContactSessionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactSessionFactory(contact=link.contact, whatsapp_session=link.whatsapp_session)
    ContactSessionFactory(contact=link.contact)
