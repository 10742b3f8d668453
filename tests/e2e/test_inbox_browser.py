"""The shared inbox in a real browser: headless Chromium (the project's own Browser, local
binaries only) on a real daphne process serving blazz.asgi against the test database and
the Redis channel layer. Messages are stored by the real services in this process (what a
session worker does after harvesting a page), and the open page must follow them over the
websocket without a reload: new conversations and unread counts, new messages in a thread,
delivery ticks. The reply box posts through chat_send and shows the pending message.

Every process started here (daphne, chromedriver, Chromium) is stopped by PID, and no
process of the test's browser may survive it. With BLAZZ_SCREENSHOTS=1 the inbox is saved
to docs/screenshots/inbox.png (off by default, so a test run never writes into the repo)."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from messaging.models import Chat, Contact, ContactSession
from messaging.services import (
    chat_acks_apply,
    chat_claim_for_send,
    chat_mark_sent,
    chat_send,
    inbound_messages_ingest,
)
from tests.e2e.web import (
    asgi_server,
    assert_not_reloaded,
    headless_browser,
    log_in,
    open_live,
    page_of,
    row_text,
    screenshot,
    socket_drops,
    thread_bodies,
    tick_of,
    unread_of,
    wait,
)
from tests.factories import WhatsAppSessionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANN = "+12015550201"


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    with asgi_server(tmp_path_factory.mktemp("daphne")) as process:
        yield process


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    with headless_browser(tmp_path_factory.mktemp("browser")) as browser:
        yield browser


@pytest.fixture
def numbers(workspace_a):
    """Two connected numbers of Acme, rows only (no worker: nothing here needs a browser
    on WhatsApp's side)."""
    primary = WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+12015550101", is_primary=True
    )
    second = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+12015550102")
    return primary, second


@pytest.fixture
def page(server, driver, alice, workspace_a):
    """Alice logged in through the login form."""
    with page_of(driver) as page:
        yield log_in(page, server, alice)


# --- helpers --------------------------------------------------------------------------------


def ingest(session, wam_id: str, body: str, sender: str = ANN) -> None:
    """What a session worker does with a harvested `chat.new_message` page event."""
    stored = inbound_messages_ingest(
        session_pk=session.pk,
        messages=[{"id": wam_id, "from": sender, "body": body, "type": "chat", "timestamp": 1760000000}],
    )
    assert len(stored) == 1


def conversation_of(contact, number) -> ContactSession:
    return ContactSession.objects.get(contact=contact, whatsapp_session=number)


# --- tests ----------------------------------------------------------------------------------


def test_it_shows_new_messages_and_unread_counts_without_a_reload(page, server, numbers):
    primary, _ = numbers
    open_live(page, server.url + "/inbox/")
    assert "No conversations yet" in page.find_element(By.CSS_SELECTOR, "[data-swap=conversations]").text

    ingest(primary, "wam-in-1", "Hello from Ann")
    ann = Contact.objects.get(phone=ANN)
    wait(page, lambda d: unread_of(d, ann) == "1", "Ann's conversation with 1 unread")
    assert "Hello from Ann" in row_text(page, ann)

    ingest(primary, "wam-in-2", "Are you there?")
    wait(page, lambda d: unread_of(d, ann) == "2", "Ann's unread count to reach 2")
    assert "Are you there?" in row_text(page, ann)
    assert_not_reloaded(page)
    screenshot(page, "inbox")

    # Opening the conversation marks it read; a message arriving now joins the open thread.
    open_live(page, f"{server.url}/inbox/c/{conversation_of(ann, primary).uuid}/")
    assert thread_bodies(page) == ["Hello from Ann", "Are you there?"]
    ingest(primary, "wam-in-3", "Hola 👋 مرحبا")
    wait(page, lambda d: thread_bodies(d)[-1:] == ["Hola 👋 مرحبا"], "the third message in the open thread")
    assert_not_reloaded(page)

    # The open thread re-read, and so marked read, what it showed (its POST may still be on its
    # way when the test moves on): back on the list nothing is unread, and the next message
    # counts from 1 again.
    wait(page, lambda d: conversation_of(ann, primary).unread_count == 0, "the page to mark the thread read")
    open_live(page, server.url + "/inbox/")
    assert unread_of(page, ann) is None
    ingest(primary, "wam-in-4", "One more")
    wait(page, lambda d: unread_of(d, ann) == "1", "a fresh unread count of 1")
    assert_not_reloaded(page)


def test_it_posts_a_reply_as_a_pending_message_from_the_conversations_number(page, server, numbers):
    _, second = numbers
    ingest(second, "wam-in-1", "Hi, it's Ann")  # Ann last talked to the second number
    ann = Contact.objects.get(phone=ANN)
    open_live(page, f"{server.url}/inbox/c/{conversation_of(ann, second).uuid}/")
    picker = page.find_element(By.CSS_SELECTOR, "[data-testid=reply] select[name=session]")
    assert Select(picker).first_selected_option.text == "+12015550102"

    page.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea[name=body]").send_keys("Hello Ann ✓")
    page.find_element(By.CSS_SELECTOR, "[data-testid=reply] button[type=submit]").click()

    # The form posts and comes back to the thread, which shows the reply as pending.
    wait(page, lambda d: "Hello Ann ✓" in thread_bodies(d), "the reply in the thread")
    reply = Chat.objects.get(direction=Chat.Direction.OUTBOUND)
    assert reply.body == "Hello Ann ✓"
    assert reply.status == Chat.Status.PENDING
    assert reply.whatsapp_session_id == second.pk  # the number Ann wrote to, not the primary
    assert reply.idempotency_key and reply.idempotency_key.startswith("inbox:")
    assert tick_of(page, reply)[:2] == ("tick pending", "⏳")


def test_it_moves_the_delivery_tick_live_as_the_message_is_sent_and_acked(page, server, numbers):
    primary, _ = numbers
    ingest(primary, "wam-in-1", "Ping")
    ann = Contact.objects.get(phone=ANN)
    reply, created = chat_send(workspace=primary.workspace, to=ANN, body="Pong")
    assert created and reply.whatsapp_session_id == primary.pk
    open_live(page, f"{server.url}/inbox/c/{conversation_of(ann, primary).uuid}/")
    assert tick_of(page, reply)[:2] == ("tick pending", "⏳")

    # What the session worker does once WhatsApp took the message, then the acks it harvests.
    claimed = chat_claim_for_send(chat_pk=reply.pk, session_pk=primary.pk)
    assert claimed is not None
    chat_mark_sent(chat=claimed, wam_id="wam-out-1")
    wait(page, lambda d: tick_of(d, reply) == ("tick sent", "✓", "Sent"), "the sent tick")

    assert chat_acks_apply(session_pk=primary.pk, acks=[{"id": "wam-out-1", "ack": 2}]) == 1
    wait(page, lambda d: tick_of(d, reply) == ("tick delivered", "✓✓", "Delivered"), "the delivered ticks")

    assert chat_acks_apply(session_pk=primary.pk, acks=[{"id": "wam-out-1", "ack": 3}]) == 1
    wait(page, lambda d: tick_of(d, reply) == ("tick read", "✓✓", "Read"), "the read (blue) ticks")
    assert_not_reloaded(page)


def test_it_keeps_the_websocket_open_while_the_inbox_is_idle(driver, alice, numbers, tmp_path):
    primary, _ = numbers
    # A server of its own: pages this browser left earlier can keep their sockets open for a
    # while, and the channel layer's error would then hit one of those instead of this one.
    with asgi_server(tmp_path) as server:
        try:
            page = log_in(driver, server, alice)
            open_live(page, server.url + "/inbox/")
            # Two and a half of the channel layer's 5 s blocking reads, watched as they pass.
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline and not socket_drops(page):
                time.sleep(0.5)
            assert socket_drops(page) == 0, "the websocket dropped while idle"
            ingest(primary, "wam-in-1", "Still there?")
            ann = Contact.objects.get(phone=ANN)
            wait(page, lambda d: unread_of(d, ann) == "1", "the message after an idle spell")
            assert socket_drops(page) == 0
        finally:
            driver.get("about:blank")  # closes the page's socket before its server goes
