"""The bridge against the simulator's model of wa-js 4.6.0 (CONTRACT.md): one test (or more)
per trap the issue named, each following a wa-js source file at tag v4.6.0."""

from __future__ import annotations

import re
import time

import pytest

from sessions_app.webjs.driver.errors import SendFailed, SendNotConfirmed, SendNotStarted

from .conftest import quit_browser
from .support import device_id_of, events_of, login, random_phone, wait_event, wait_for

pytestmark = pytest.mark.browser


def random_lid() -> str:
    return f"{int(time.time() * 1e6) % 10**14 + 10**14}@lid"


@pytest.fixture
def linked(sim, browsers, phone):
    browser = browsers().open(sim.url)
    device_id = login(sim, browser, phone)
    return browser, device_id


# --- 1. sends: a string messageId is a serialized key of the chat wa-js resolves ---------------


def test_1_a_bare_message_id_is_refused_as_wa_js_4_6_0_does(sim, linked):
    browser, _ = linked
    contact = random_phone()
    error = browser.driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "WPP.chat.sendTextMessage(arguments[0], 'x', {messageId: 'ABCDEF0123456789ABCDEF0123456789'})"
        ".then(function () { done('sent'); }, function (e) { done(e.code || String(e)); });",
        contact[1:] + "@c.us",
    )
    assert error == "message_key_is_not_from_me"  # prepareRawMessage.ts: a bare id is no key of ours


def test_1_a_send_to_a_phone_whose_chat_lives_under_a_lid_uses_the_lid_key(sim, linked, phone):
    browser, _ = linked
    contact, lid = random_phone(), random_lid()
    sim.ok("POST", "/contacts", {"phone": contact, "lid": lid})

    wam_id = browser.bridge.send(
        contact, "para o LID", idempotency_key="0b8f2b9e-7c1a-4c55-9d8e-3f6a1b2c4d5e"
    )

    assert wam_id == f"true_{lid}_0B8F2B9E7C1A4C559D8E3F6A1B2C4D5E"
    assert [(m["id"], m["to"]) for m in sim.ok("GET", f"/phones/{phone}/outbox")] == [(wam_id, contact)]


# --- 2. first login: main_ready fires on the QR screen --------------------------------------------


def test_2_a_new_number_keeps_its_qr_codes_flowing_after_main_ready(sim, browsers, phone):
    browser = browsers().open(sim.url)
    first = wait_event(browser.bridge, "auth_code", timeout=15)
    # wa-js 4.6.0 emitted conn.main_ready on this QR screen (registerMainReadyEvent.ts)...
    assert browser.driver.execute_script("return WPP.conn.isMainReady();") is True
    # ...which is not a login: the next rotation still arrives, and nothing else does.
    wait_event(browser.bridge, "auth_code", after_seq=first["seq"], timeout=10)
    kinds = {e["type"] for e in browser.bridge.drain(1000)}
    assert kinds == {"auth_code"}
    assert browser.bridge.state()["ready"] is False

    sim.ok("POST", "/scan", {"phone": phone, "device_id": device_id_of(browser)})

    ready = wait_event(browser.bridge, "ready", timeout=15)
    assert ready["payload"]["me"] == phone
    assert [e["type"] for e in events_of(browser.bridge, "logout")] == []


# --- 3. a send counts only on the servers' ack ------------------------------------------------------


def test_3_a_message_the_servers_refuse_is_a_failed_send(sim, linked):
    browser, _ = linked
    contact = random_phone()
    sim.ok("POST", "/contacts", {"phone": contact, "fail_sends": True})

    with pytest.raises(SendFailed) as failed:
        browser.bridge.send(contact, "nobody gets this")

    assert failed.value.reason == "send_failed" and "ERROR" in str(failed.value)
    assert not isinstance(failed.value, SendNotConfirmed)


def test_3_a_number_not_on_whatsapp_is_a_failed_send(sim, linked, phone):
    browser, _ = linked
    contact = random_phone()
    sim.ok("POST", "/contacts", {"phone": contact, "on_whatsapp": False})

    with pytest.raises(SendFailed) as failed:
        browser.bridge.send(contact, "no such account")

    assert failed.value.reason == "not_on_whatsapp"
    assert sim.ok("GET", f"/phones/{phone}/outbox") == []


def test_3_a_send_over_a_dead_socket_is_not_confirmed_until_its_ack_arrives(sim, linked, phone):
    browser, device_id = linked
    contact = random_phone()
    browser.bridge.send(contact, "the chat exists now")
    sim.ok("POST", f"/devices/{device_id}/drop", {"hold_s": None})
    wait_for(lambda: browser.bridge.state()["connected"] is False, what="the page to notice the drop")

    with pytest.raises(SendNotConfirmed) as pending:
        browser.bridge.send(contact, "queued in the page", timeout=2)
    wam_id = pending.value.wam_id
    assert wam_id and wam_id.startswith(f"true_{contact[1:]}@c.us_")

    sim.ok("POST", f"/devices/{device_id}/reconnect", {})
    acked = wait_event(browser.bridge, "ack", match=lambda e: wam_id in e["payload"]["ids"], timeout=20)
    assert acked["payload"]["ack"] == 1
    assert [m["id"] for m in sim.ok("GET", f"/phones/{phone}/outbox")][-1] == wam_id


def test_3_a_failure_after_the_timeout_is_reported_as_a_negative_ack(sim, linked):
    browser, device_id = linked
    contact = random_phone()
    browser.bridge.send(contact, "the chat exists now")
    sim.ok("POST", "/contacts", {"phone": contact, "fail_sends": True})
    sim.ok("POST", f"/devices/{device_id}/drop", {"hold_s": None})
    wait_for(lambda: browser.bridge.state()["connected"] is False, what="the page to notice the drop")
    with pytest.raises(SendNotConfirmed) as pending:
        browser.bridge.send(contact, "refused later", timeout=2)

    sim.ok("POST", f"/devices/{device_id}/reconnect", {})

    # wa-js never emits a negative ack (registerAckMessageEvent.ts); the bridge's watch does.
    failed = wait_event(
        browser.bridge, "ack", match=lambda e: pending.value.wam_id in e["payload"]["ids"], timeout=20
    )
    assert failed["payload"]["ack"] == -1


# --- 4. senders on LID addressing -----------------------------------------------------------------


def test_4_a_lid_sender_with_a_known_mapping_comes_with_its_phone(sim, linked, phone):
    browser, _ = linked
    contact, lid = random_phone(), random_lid()

    sim.ok("POST", "/messages", {"from": contact, "from_lid": lid, "to": phone, "body": "via LID"})

    message = wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "via LID")[
        "payload"
    ]
    assert (message["chat"], message["lid"], message["phone"]) == (lid, lid, contact)
    assert message["id"].startswith(f"false_{lid}_")


def test_4_a_lid_sender_without_a_mapping_is_never_read_as_a_phone(sim, linked, phone):
    browser, _ = linked
    lid = "49991743450909@lid"

    sim.ok("POST", "/messages", {"from_lid": lid, "to": phone, "body": "who am I"})

    message = wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "who am I")[
        "payload"
    ]
    assert (message["lid"], message["phone"]) == (lid, None)


def test_4_acks_of_a_lid_chat_name_both_forms(sim, linked, phone):
    browser, _ = linked
    contact, lid = random_phone(), random_lid()
    sim.ok("POST", "/messages", {"from": contact, "from_lid": lid, "to": phone, "body": "hi"})
    wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "hi")
    wam_id = browser.bridge.send(lid, "reply to the LID chat")

    sim.ok("POST", "/acks", {"id": wam_id, "ack": 3})

    read = wait_event(browser.bridge, "ack", match=lambda e: e["payload"]["ack"] == 3)["payload"]
    bare = wam_id.rsplit("_", 1)[1]
    assert set(read["ids"]) >= {f"true_{lid}_{bare}", f"true_{contact[1:]}@c.us_{bare}"}


# --- 5. messages around injection and reloads ------------------------------------------------------


def test_5_messages_delivered_before_the_loader_is_ready_are_caught_up(sim, browsers, phone):
    first = browsers().open(sim.url)
    login(sim, first, phone)
    quit_browser(first)
    contact = random_phone()
    for n in range(3):
        sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": f"while away {n}"})

    # The servers push these the moment the page connects, before wa-js's loader listens.
    second = browsers(profile_dir=first.profile_dir).open(sim.url)

    wait_event(second.bridge, "ready", timeout=15)
    wait_for(
        lambda: (
            {e["payload"]["body"] for e in events_of(second.bridge, "message")}
            >= {"while away 0", "while away 1", "while away 2"}
        ),
        timeout=15,
        what="the catch-up scan to report the three messages",
    )


def test_5_a_page_that_reloads_itself_gets_wpp_and_the_bridge_back(sim, linked, phone):
    browser, device_id = linked
    contact = random_phone()
    sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": "before the reload"})
    wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "before the reload")

    sim.ok("POST", f"/devices/{device_id}/reload", {})
    time.sleep(0.5)  # the old document is gone
    sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": "during the reload"})

    wait_for(lambda: browser.driver.execute_script("return !!(window.WPP && WPP.isReady);"), timeout=15)
    wait_event(
        browser.bridge, "message", match=lambda e: e["payload"]["body"] == "during the reload", timeout=15
    )
    # Unconfirmed events of the old document are still queued.
    assert [e for e in events_of(browser.bridge, "message") if e["payload"]["body"] == "before the reload"]


# --- 6. media and system messages ---------------------------------------------------------------------


def test_6_a_media_message_carries_its_caption_not_its_thumbnail(sim, linked, phone):
    browser, _ = linked
    contact = random_phone()
    sim.ok(
        "POST",
        "/messages",
        {
            "from": contact,
            "to": phone,
            "type": "image",
            "caption": "the receipt",
            "mimetype": "image/jpeg",
            "size": 1234,
        },
    )

    message = wait_event(browser.bridge, "message", match=lambda e: e["payload"]["type"] == "image")[
        "payload"
    ]
    assert message["body"] == "the receipt"
    assert message["media"]["mimetype"] == "image/jpeg" and message["media"]["size"] == 1234


@pytest.mark.parametrize(
    "kind", ["e2e_notification", "notification_template", "call_log", "protocol", "revoked", "gp2"]
)
def test_6_system_types_are_never_messages(sim, linked, phone, kind):
    browser, _ = linked
    contact = random_phone()
    sim.ok("POST", "/messages", {"from": contact, "to": phone, "type": kind})
    sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": "a real one"})

    wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "a real one")
    system = wait_event(browser.bridge, "system", match=lambda e: e["payload"]["type"] == kind)
    assert [e for e in events_of(browser.bridge, "message") if e["payload"]["type"] == kind] == []
    assert system["payload"]["chat"] == contact[1:] + "@c.us"


# --- 7. defaults: no telemetry, no read receipts, no link previews ---------------------------------


def test_7_wa_js_is_configured_before_it_loads(sim, linked, phone):
    browser, device_id = linked
    contact = random_phone()
    sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": "unread"})
    wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "unread")

    browser.bridge.send(contact, "see https://example.com/order/42")

    assert browser.driver.execute_script("return WPPConfig.disableGoogleAnalytics;") is True
    assert sim.ok("GET", "/third-party") == []  # no analytics beacon, no link preview fetch
    assert [r for r in sim.ok("GET", "/read-receipts") if r["device_id"] == device_id] == []


# --- 8. a probe that a dead socket fails ------------------------------------------------------------


def test_8_the_probe_fails_on_a_dead_socket_that_the_cache_would_pass(sim, linked):
    browser, device_id = linked
    assert browser.bridge.probe(timeout_s=3)["ok"] is True
    assert (
        browser.driver.execute_script("return typeof WPP.whatsapp.functions.sendQueryExists;") == "undefined"
    )

    sim.ok("POST", f"/devices/{device_id}/drop", {"hold_s": None})
    wait_for(lambda: browser.bridge.state()["connected"] is False, what="the page to notice the drop")

    # What the old probe asked: answered from memory, and errors become null, not failures.
    cached = browser.driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "WPP.contact.queryExists(WPP.conn.getMyUserId())"
        ".then(function (r) { done(r === null ? 'null' : 'answer'); }, function (e) { done('rejected'); });"
    )
    assert cached in ("null", "answer")
    result = browser.bridge.probe(timeout_s=3)
    assert result["ok"] is False and result["reason"] == "stream_info_offline"


def test_8_the_probe_rotates_the_id_it_asks_about(sim, linked, phone):
    browser, _ = linked
    asked = {browser.bridge.probe(timeout_s=3)["queried"] for _ in range(2)}
    assert asked == {
        phone[1:] + "@c.us",
        browser.driver.execute_script("return WPP.conn.getMyUserLid()._serialized;"),
    }
    assert all(re.fullmatch(r"\d+@(c\.us|lid)", q) for q in asked)


def test_3_a_page_that_cannot_send_yet_makes_nothing_and_says_so(sim, browsers):
    browser = browsers().open(sim.url)
    wait_event(browser.bridge, "auth_code", timeout=15)

    # Not logged in: nothing was created, so the host releases the message for a later send.
    with pytest.raises(SendNotStarted):
        browser.bridge.send(random_phone(), "too early")
