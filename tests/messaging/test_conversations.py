"""The team inbox's state (issue 19): a conversation is one contact on one number, with an
unread count kept by ingestion, open/pending/resolved (a new inbound reopens it), an
assignee (self-assign on reply, optional auto-assignment), internal notes that never reach
WhatsApp, quick replies with campaign variables, search by phone in any format and by
message text, and a warning before replying from another number."""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection

from accounts.models import Membership
from messaging import services as messaging
from messaging.models import Chat, Contact, ContactSession, ConversationNote
from messaging.selectors import MESSAGE_SEARCH_VECTOR, InboxView, conversations_search, reply_number_warning
from messaging.services.conversations import (
    AUTO_ASSIGN_SETTING,
    conversation_claim_on_reply,
    conversations_auto_assign,
)
from sessions_app.models import WhatsAppSession
from sessions_app.webjs.page_events import apply_page_events
from tests.factories import (
    ChatFactory,
    ContactFactory,
    ContactSessionFactory,
    MembershipFactory,
    UserFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db
CUSTOMER = "+5521977770001"


@pytest.fixture
def sales(workspace_a):
    return WhatsAppSessionFactory(
        workspace=workspace_a, status=WhatsAppSession.Status.CONNECTED, phone_number="+5511900000001"
    )


@pytest.fixture
def support(workspace_a):
    return WhatsAppSessionFactory(
        workspace=workspace_a, status=WhatsAppSession.Status.CONNECTED, phone_number="+5511900000002"
    )


_seq = iter(range(1, 10_000))


def inbound(number, body: str, phone: str = CUSTOMER) -> None:
    n = next(_seq)
    chat = f"{phone[1:]}@c.us"
    apply_page_events(
        session_pk=number.pk,
        events=[
            {
                "seq": n,
                "type": "message",
                "payload": {
                    "id": f"false_{chat}_3A{n:018X}",
                    "chat": chat,
                    "from_jid": chat,
                    "phone": phone,
                    "body": body,
                    "type": "chat",
                    "fromMe": False,
                },
            }
        ],
    )


def conversation_on(number) -> ContactSession:
    return ContactSession.objects.get(whatsapp_session=number)


def test_each_number_is_its_own_conversation_with_an_unread_count(sales, support):
    inbound(sales, "oi")
    inbound(sales, "tudo bem?")
    inbound(support, "minha fatura")
    on_sales, on_support = conversation_on(sales), conversation_on(support)
    assert on_sales.contact_id == on_support.contact_id
    assert (on_sales.unread_count, on_support.unread_count) == (2, 1)
    assert on_sales.last_inbound_at is not None and on_sales.status == "open"

    messaging.conversation_mark_read(conversation=on_sales)
    messaging.conversation_mark_unread(conversation=on_support)  # already unread: stays 1
    messaging.conversation_mark_unread(conversation=on_sales)
    assert (conversation_on(sales).unread_count, conversation_on(support).unread_count) == (1, 1)


def test_a_new_inbound_reopens_a_resolved_conversation_but_not_a_pending_one(sales, support):
    inbound(sales, "oi")
    inbound(support, "oi")
    messaging.conversation_set_status(conversation=conversation_on(sales), status="resolved")
    messaging.conversation_set_status(conversation=conversation_on(support), status="pending")
    inbound(sales, "voltei")
    inbound(support, "alô?")
    assert (conversation_on(sales).status, conversation_on(support).status) == ("open", "pending")
    with pytest.raises(messaging.InvalidConversationChange):
        messaging.conversation_set_status(conversation=conversation_on(sales), status="archived")


def test_a_reply_assigns_an_unassigned_conversation_to_whoever_answers(sales, workspace_a, alice, carol):
    inbound(sales, "oi")
    messaging.chat_send(workspace=workspace_a, to=CUSTOMER, body="olá", idempotency_key="r1", sent_by=carol)
    assert conversation_on(sales).assignee == carol
    # Someone else's conversation keeps its owner.
    messaging.chat_send(
        workspace=workspace_a, to=CUSTOMER, body="eu também", idempotency_key="r2", sent_by=alice
    )
    assert conversation_on(sales).assignee == carol
    # An integrator's send (no member) assigns nobody.
    inbound(sales, "oi", phone="+5521977770002")
    messaging.chat_send(workspace=workspace_a, to="+5521977770002", body="api", idempotency_key="r3")
    assert ContactSession.objects.get(contact__phone="+5521977770002").assignee is None


def test_only_members_can_be_assigned(sales, workspace_a, carol, bob):
    inbound(sales, "oi")
    conversation = conversation_on(sales)
    messaging.conversation_assign(conversation=conversation, assignee=carol)
    with pytest.raises(messaging.InvalidConversationChange):
        messaging.conversation_assign(conversation=conversation, assignee=bob)  # another workspace's owner
    messaging.conversation_assign(conversation=conversation, assignee=None)
    assert conversation_on(sales).assignee is None


def test_claim_on_reply_is_first_come_first_served(sales, alice, carol):
    inbound(sales, "oi")
    conversation = conversation_on(sales)
    stale_copy = ContactSession.objects.get(pk=conversation.pk)
    assert conversation_claim_on_reply(conversation=conversation, member=carol)
    assert not conversation_claim_on_reply(conversation=stale_copy, member=alice)
    assert conversation_on(sales).assignee == carol


def test_auto_assignment_gives_new_conversations_to_the_least_loaded_member(sales, workspace_a, alice, carol):
    dave = UserFactory(username="dave@example.com")
    MembershipFactory(user=dave, workspace=workspace_a, role=Membership.Role.AGENT)
    inbound(sales, "before it was on", phone="+5521977770009")
    assert conversation_on(sales).assignee is None  # off by default

    workspace_a.settings = {AUTO_ASSIGN_SETTING: True}
    workspace_a.save(update_fields=["settings"])
    busy = ContactSessionFactory(contact=ContactFactory(workspace=workspace_a), whatsapp_session=sales)
    messaging.conversation_assign(conversation=busy, assignee=alice)
    for n in range(4):
        inbound(sales, "oi", phone=f"+552197777001{n}")
    owners = list(
        ContactSession.objects.filter(contact__phone__startswith="+552197777001")
        .exclude(contact__phone="+5521977770019")
        .values_list("assignee__username", flat=True)
    )
    # alice already holds one: carol and dave get the first two, then all three share.
    assert sorted(owners) == sorted(
        ["carol@example.com", "dave@example.com", "alice@example.com", "carol@example.com"]
    )
    assert conversations_auto_assign(workspace=workspace_a, conversation_ids=[]) == 0


def test_a_note_is_kept_in_the_thread_and_never_sent(sales, workspace_a, alice):
    inbound(sales, "oi")
    conversation = conversation_on(sales)
    note = messaging.note_add(conversation=conversation, author=alice, body="  VIP: call back after 5pm ")
    assert note.body == "VIP: call back after 5pm"
    assert not Chat.objects.filter(direction="outbound").exists()
    assert list(ConversationNote.objects.filter(conversation=conversation)) == [note]
    for bad in ("", "   ", "x" * 5001, "a\x00b", None):
        with pytest.raises(messaging.InvalidConversationChange):
            messaging.note_add(conversation=conversation, author=alice, body=bad)


def test_quick_replies_fill_variables_like_campaigns(sales, workspace_a, alice):
    inbound(sales, "oi")
    conversation = conversation_on(sales)
    Contact.objects.filter(pk=conversation.contact_id).update(name="Ana", metadata={"plan": "Gold"})
    conversation.contact.refresh_from_db()
    reply = messaging.quick_reply_save(
        workspace=workspace_a,
        shortcut="/Thanks",
        body="Obrigado, {{name}}! Plano {{plan}}.",
        created_by=alice,
    )
    assert reply.shortcut == "thanks"
    assert (
        messaging.quick_reply_render(quick_reply=reply, conversation=conversation)
        == "Obrigado, Ana! Plano Gold."
    )
    missing = messaging.quick_reply_save(workspace=workspace_a, shortcut="city", body="Em {{city}}?")
    with pytest.raises(messaging.InvalidConversationChange, match="city"):
        messaging.quick_reply_render(quick_reply=missing, conversation=conversation)
    with pytest.raises(messaging.InvalidConversationChange, match="already exists"):
        messaging.quick_reply_save(workspace=workspace_a, shortcut="thanks", body="again")
    for shortcut, body in (("", "x"), ("two words", "x"), ("ok", "{{broken"), ("ok", "")):
        with pytest.raises(messaging.InvalidConversationChange):
            messaging.quick_reply_save(workspace=workspace_a, shortcut=shortcut, body=body)


def test_search_finds_a_phone_typed_in_any_format_and_words_of_any_message(sales, workspace_a):
    inbound(sales, "my parcel never arrived", phone=CUSTOMER)
    inbound(sales, "hello", phone="+5521977770002")
    Contact.objects.filter(phone="+5521977770002").update(name="Bruno")

    def found(query: str) -> list[str]:
        return [c.contact.phone_e164 for c in conversations_search(workspace=workspace_a, query=query)]

    assert found("+55 21 97777-0001") == [CUSTOMER]
    assert found("(21) 97777-0001") == [CUSTOMER]
    assert found("parcel") == [CUSTOMER]
    assert found("PARCEL arrived") == [CUSTOMER]
    assert found("bruno") == ["+5521977770002"]
    assert found("refund") == []


def test_the_text_search_expression_is_the_indexed_one(sales, workspace_a):
    # The search must use exactly the GIN index's expression, or PostgreSQL reads every
    # message of the workspace on each search. A table this small is scanned anyway, so the
    # planner is told to avoid sequential scans: if it still cannot use the index, the
    # expressions differ.
    for n in range(30):
        ChatFactory(workspace=workspace_a, whatsapp_session=sales, body=f"message number {n}")
    query = Chat.objects.annotate(search=MESSAGE_SEARCH_VECTOR).filter(
        search=SearchQuery("parcel", config="simple", search_type="websearch")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # not the primary key's either
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "chat_body_search" in plan, plan


def test_views_mine_unassigned_and_by_number(sales, support, workspace_a, carol):
    inbound(sales, "a")
    inbound(support, "b")
    messaging.conversation_assign(conversation=conversation_on(sales), assignee=carol)

    def numbers(**filters) -> list[int]:
        return [c.whatsapp_session_id for c in conversations_search(workspace=workspace_a, **filters)]

    assert numbers(view=InboxView.MINE, member=carol) == [sales.pk]
    assert numbers(view=InboxView.UNASSIGNED) == [support.pk]
    assert sorted(numbers(view=InboxView.ALL)) == sorted([sales.pk, support.pk])
    assert numbers(number=support) == [support.pk]
    assert numbers(status="resolved") == []


def test_a_reply_from_another_number_than_the_customer_last_wrote_to_is_warned(sales, support):
    inbound(sales, "oi")
    conversation = conversation_on(sales)
    assert reply_number_warning(conversation=conversation, sending_number=sales) is None
    warning = reply_number_warning(conversation=conversation, sending_number=support)
    assert warning and "+5511900000001" in warning and "+5511900000002" in warning


def test_merging_a_lid_contact_keeps_its_conversation_state(sales, workspace_a, alice):
    lid = "49991743450909@lid"
    apply_page_events(
        session_pk=sales.pk,
        events=[
            {
                "seq": 1,
                "type": "message",
                "payload": {"id": f"false_{lid}_3A1", "chat": lid, "from_jid": lid, "lid": lid, "body": "oi"},
            }
        ],
    )
    before = conversation_on(sales)
    messaging.note_add(conversation=before, author=alice, body="known by LID only")
    messaging.conversation_set_status(conversation=before, status="pending")
    apply_page_events(
        session_pk=sales.pk,
        events=[
            {
                "seq": 2,
                "type": "message",
                "payload": {
                    "id": f"false_{lid}_3A2",
                    "chat": lid,
                    "from_jid": lid,
                    "lid": lid,
                    "phone": CUSTOMER,
                    "body": "meu número",
                },
            }
        ],
    )
    after = conversation_on(sales)
    assert after.contact.phone_e164 == CUSTOMER
    assert after.unread_count == 2 and after.status == "pending"
    assert [n.body for n in after.notes.all()] == ["known by LID only"]
