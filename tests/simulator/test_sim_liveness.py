"""The failures liveness checks must catch (F7): a page that looks connected but is hung
(freeze), and a page that lost its connection (drop)."""

from __future__ import annotations

import time

import pytest

from sessions_app.webjs.driver.errors import SendNotConfirmed

from .support import events_of, login, random_phone, wait_event, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def linked(sim, browsers, phone):
    browser = browsers().open(sim.url)
    device_id = login(sim, browser, phone)
    return browser, device_id


def test_it_fails_the_probe_of_a_frozen_page_within_its_timeout(sim, linked, phone):
    browser, device_id = linked
    assert browser.bridge.probe(timeout_s=2)["ok"] is True

    sim.ok("POST", f"/devices/{device_id}/freeze", {})
    started = time.monotonic()
    result = browser.bridge.probe(timeout_s=2)
    elapsed = time.monotonic() - started

    assert result == {"ok": False, "reason": "timeout"}
    assert elapsed < 2.5
    # The silent hang: it still claims to be fine...
    state = browser.bridge.state()
    assert state["authenticated"] and state["ready"] and state["connected"]
    assert browser.driver.execute_script("return WPP.conn.isMainReady();") is True
    # ...but its heartbeat has stopped.
    time.sleep(1.5)
    later = browser.bridge.state()
    assert later["heartbeat_at"] == state["heartbeat_at"]
    assert later["now"] - later["heartbeat_at"] >= 1500


def test_it_delivers_nothing_while_frozen_and_catches_up_after(sim, linked, phone):
    browser, device_id = linked
    contact = random_phone()
    # A chat the page already has: finding a new one would need the (hung) servers first.
    sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": "before the hang"})
    wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "before the hang")
    sim.ok("POST", f"/devices/{device_id}/freeze", {})

    sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": "held by the servers"})
    with pytest.raises(SendNotConfirmed) as not_confirmed:
        browser.bridge.send(contact, "lost in the hang", timeout=2)

    assert not_confirmed.value.wam_id  # the page created it; the servers never got it
    time.sleep(1)
    held = [e for e in events_of(browser.bridge, "message") if e["payload"]["body"] == "held by the servers"]
    assert not held
    assert sim.ok("GET", f"/phones/{phone}/outbox") == []
    assert sim.ok("GET", f"/devices/{device_id}")["pending_events"] == 1

    sim.ok("POST", f"/devices/{device_id}/unfreeze", {})

    wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "held by the servers")
    assert browser.bridge.probe(timeout_s=2)["ok"] is True
    beat = browser.bridge.state()["heartbeat_at"]
    wait_for(lambda: browser.bridge.state()["heartbeat_at"] > beat, what="the heartbeat to move again")
    assert sim.ok("GET", f"/phones/{phone}/outbox") == []  # sent while frozen: never delivered


def test_it_reports_a_dropped_connection_and_its_return(sim, linked, phone):
    browser, device_id = linked
    before = browser.bridge.state()["seq"]

    sim.ok("POST", f"/devices/{device_id}/drop", {"hold_s": None})

    wait_event(browser.bridge, "disconnected", after_seq=before)
    assert browser.bridge.state()["connected"] is False
    assert browser.bridge.probe(timeout_s=2)["ok"] is False
    wait_for(lambda: browser.screen() == "main", what="main screen")
    sim.ok("POST", "/messages", {"from": random_phone(), "to": phone, "body": "while you were away"})
    time.sleep(1.5)  # the page keeps retrying and is refused
    assert browser.bridge.state()["connected"] is False

    sim.ok("POST", f"/devices/{device_id}/reconnect", {})

    wait_event(browser.bridge, "connected", after_seq=before, timeout=5)
    wait_event(browser.bridge, "message", match=lambda e: e["payload"]["body"] == "while you were away")
    assert browser.bridge.probe(timeout_s=2)["ok"] is True
