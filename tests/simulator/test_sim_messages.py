"""Messages through the page bridge: inbound, outbound, acks, and text that must survive
every hop byte for byte."""

from __future__ import annotations

import re
import time

import pytest

from sessions_app.webjs.driver.bridge import PageBridge

from .support import events_of, login, random_phone, wait_event

pytestmark = pytest.mark.browser

# Emoji with skin tone and ZWJ sequence, Arabic and Hebrew with an RTL mark, a combining
# accent (must not be normalised), a CJK ideograph, an astral-plane symbol, a newline.
TRICKY_TEXT = "مرحبا 👋🏽 שלום\u200f — 👨\u200d👩\u200d👧\u200d👦 cafe\u0301 漢 𝄞\nend"


@pytest.fixture
def linked(sim, browsers, phone):
    browser = browsers().open(sim.url)
    login(sim, browser, phone)
    return browser


def test_it_delivers_an_inbound_message_through_the_bridge(sim, linked, phone):
    contact = random_phone()
    before = time.time()

    delivered = sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": "Oi, tudo bem?"})

    event = wait_event(linked.bridge, "message", match=lambda e: not e["payload"]["fromMe"])
    message = event["payload"]
    assert message["id"] == delivered["message"]["id"]
    assert message["id"].startswith(f"false_{contact.lstrip('+')}@c.us_")
    assert message["phone"] == contact and message["lid"] is None and message["chat"] == contact[1:] + "@c.us"
    assert message["body"] == "Oi, tudo bem?"
    assert message["type"] == "chat"
    assert int(before) - 1 <= message["timestamp"] <= time.time() + 1
    time.sleep(0.5)
    assert [e["seq"] for e in events_of(linked.bridge, "message") if e["payload"]["id"] == message["id"]] == [
        event["seq"]
    ]  # delivered once


def test_it_sends_a_text_to_the_simulator_outbox(sim, linked, phone):
    contact = random_phone()

    wam_id = linked.bridge.send(contact, "Seu pedido saiu para entrega")

    # A serialized key of the resolved chat (wa-js 4.6.0 prepareRawMessage.ts), not a bare id.
    assert re.fullmatch(rf"true_{contact.lstrip('+')}@c\.us_[0-9A-F]{{32}}", wam_id)
    outbox = sim.ok("GET", f"/phones/{phone}/outbox")
    assert [(m["id"], m["to"], m["body"]) for m in outbox] == [
        (wam_id, contact, "Seu pedido saiu para entrega")
    ]
    # wa-js emits our own send as chat.new_message too; the bridge does not report it as inbound.
    time.sleep(0.5)
    assert not [e for e in events_of(linked.bridge, "message") if e["payload"]["id"] == wam_id]


def test_it_never_sends_twice_for_one_idempotency_key(sim, linked, phone):
    contact = random_phone()

    first = linked.bridge.send(contact, "once", idempotency_key="order-42")
    again = linked.bridge.send(contact, "once", idempotency_key="order-42")

    assert first == again
    assert len(sim.ok("GET", f"/phones/{phone}/outbox")) == 1


def test_it_reports_acks_of_sent_messages(sim, linked):
    wam_id = linked.bridge.send(random_phone(), "ack me")
    wait_event(
        linked.bridge, "ack", match=lambda e: e["payload"]["id"] == wam_id and e["payload"]["ack"] == 1
    )

    sim.ok("POST", "/acks", {"id": wam_id, "ack": 2})
    delivered = wait_event(linked.bridge, "ack", match=lambda e: e["payload"]["ack"] == 2)
    sim.ok("POST", "/acks", {"id": wam_id, "ack": 3})
    read = wait_event(linked.bridge, "ack", match=lambda e: e["payload"]["ack"] == 3)

    assert delivered["payload"]["id"] == read["payload"]["id"] == wam_id
    assert read["seq"] > delivered["seq"]
    status, _ = sim.api("POST", "/acks", {"id": wam_id, "ack": 2})
    assert status == 409  # acks never go back


def test_it_keeps_emoji_and_rtl_text_byte_exact_both_ways(sim, linked, phone):
    contact = random_phone()

    sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": TRICKY_TEXT})
    inbound = wait_event(linked.bridge, "message", match=lambda e: e["payload"]["phone"] == contact)
    linked.bridge.send(contact, TRICKY_TEXT)
    outbound = sim.ok("GET", f"/phones/{phone}/outbox")[-1]

    assert inbound["payload"]["body"].encode("utf-8") == TRICKY_TEXT.encode("utf-8")
    assert outbound["body"].encode("utf-8") == TRICKY_TEXT.encode("utf-8")


def test_it_keeps_events_until_they_are_confirmed(sim, linked, phone):
    contact = random_phone()
    for n in range(3):
        sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": f"m{n}"})
    wait_event(linked.bridge, "message", match=lambda e: e["payload"]["body"] == "m2")

    drained = linked.bridge.drain()
    # The harvester "crashes" before its commit: a new bridge object on the same page, as a
    # restarted worker would have, sees the very same events.
    again = PageBridge(linked.driver).drain()
    assert again == drained

    upto = max(e["seq"] for e in drained)
    remaining = linked.bridge.confirm(upto)
    assert remaining == len([e for e in linked.bridge.drain() if e["seq"] > upto])
    assert all(e["seq"] > upto for e in linked.bridge.drain())
    seqs = [e["seq"] for e in drained]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_it_injects_the_bridge_idempotently(sim, linked, phone):
    sim.ok("POST", "/messages", {"from": random_phone(), "to": phone, "body": "before"})
    wait_event(linked.bridge, "message", match=lambda e: e["payload"]["body"] == "before")
    queued = linked.bridge.drain()

    summary = linked.bridge.inject()

    assert summary["queue_length"] == len(queued)
    assert linked.bridge.drain() == queued
    sim.ok("POST", "/messages", {"from": random_phone(), "to": phone, "body": "after"})
    wait_event(linked.bridge, "message", match=lambda e: e["payload"]["body"] == "after")
    assert len(events_of(linked.bridge, "message", after_seq=queued[-1]["seq"])) == 1  # one listener, not two
