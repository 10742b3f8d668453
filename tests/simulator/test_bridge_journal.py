"""The bridge journals messages and acks in the page's IndexedDB, so a batch a worker read
but never committed survives the browser being killed: the next page on that profile
queues it again. WhatsApp's servers (the simulator) forget a message once the page got it,
so without the journal these tests lose every message."""

from __future__ import annotations

import time

import psutil
import pytest

from sessions_app.webjs.driver.devtools import pages_quiesce
from sessions_app.webjs.driver.errors import BridgeScriptError

from .support import events_of, login, processes_using, random_phone, wait_event, wait_for

pytestmark = pytest.mark.browser
LOCAL_STORAGE_COMMIT_S = 6


def _kill_chromium(profile_dir) -> None:
    """SIGKILL every process of the browser, as a crash of its host worker leaves it to be."""
    procs = processes_using(profile_dir)
    assert procs, "no Chromium found for the profile"
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)


def _login_and_settle(sim, browser, phone) -> None:
    login(sim, browser, phone)
    # Chrome commits localStorage (where the page keeps part of its login) a few seconds
    # after a write; a browser killed sooner loses the login itself, journal or not. A
    # worker's orphaned browser has long passed that point when the next worker finds it.
    time.sleep(LOCAL_STORAGE_COMMIT_S)


def _deliver(sim, phone, count):
    contact = random_phone()
    return [
        sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": f"journal {i}"})["message"]["id"]
        for i in range(count)
    ]


def _inbound_ids(bridge):
    return [e["payload"]["id"] for e in events_of(bridge, "message") if not e["payload"]["fromMe"]]


def test_it_queues_unconfirmed_messages_again_after_the_browser_is_killed(sim, browsers, phone):
    first = browsers().open(sim.url)
    _login_and_settle(sim, first, phone)
    sent = _deliver(sim, phone, 5)
    wait_for(lambda: set(_inbound_ids(first.bridge)) == set(sent), what="the 5 messages in the page")
    # Read but never confirmed: exactly a worker that died before its commit.
    _kill_chromium(first.profile_dir)

    second = browsers(profile_dir=first.profile_dir).open(sim.url)

    wait_event(second.bridge, "ready", timeout=15)
    wait_for(lambda: second.bridge.state()["journal"]["ready"], what="the journal to be read back")
    assert sorted(_inbound_ids(second.bridge)) == sorted(sent)
    assert second.bridge.state()["journal"]["restored"] >= 5


def test_it_does_not_queue_confirmed_messages_again(sim, browsers, phone):
    first = browsers().open(sim.url)
    _login_and_settle(sim, first, phone)
    confirmed = _deliver(sim, phone, 3)
    wait_for(lambda: set(_inbound_ids(first.bridge)) >= set(confirmed), what="the first 3 messages")
    first.bridge.confirm(max(e["seq"] for e in first.bridge.drain(10_000)))
    unconfirmed = _deliver(sim, phone, 2)
    wait_for(lambda: set(_inbound_ids(first.bridge)) == set(unconfirmed), what="the next 2 messages")
    _kill_chromium(first.profile_dir)

    second = browsers(profile_dir=first.profile_dir).open(sim.url)

    wait_event(second.bridge, "ready", timeout=15)
    wait_for(lambda: second.bridge.state()["journal"]["ready"], what="the journal to be read back")
    assert sorted(_inbound_ids(second.bridge)) == sorted(unconfirmed)


def test_it_never_replays_lifecycle_events_from_the_journal(sim, browsers, phone):
    first = browsers().open(sim.url)
    _login_and_settle(sim, first, phone)
    _deliver(sim, phone, 1)
    wait_for(lambda: _inbound_ids(first.bridge), what="a message in the page")
    _kill_chromium(first.profile_dir)

    second = browsers(profile_dir=first.profile_dir).open(sim.url)

    wait_event(second.bridge, "ready", timeout=15)
    wait_for(lambda: second.bridge.state()["journal"]["ready"], what="the journal to be read back")
    kinds = [e["type"] for e in second.bridge.drain(10_000)]
    # This page's own authenticated/ready only, once each; nothing of the first page's life.
    assert kinds.count("ready") == 1 and kinds.count("authenticated") == 1
    assert "auth_code" not in kinds and "logout" not in kinds


def test_it_reports_a_dead_chromedriver_as_a_bridge_failure(sim, browsers, phone):
    """A chromedriver that died (connection refused) must fail the bridge call like any other
    lost page, so the harvest loop and the liveness probe restart the session instead of
    crashing on an exception nobody catches."""
    browser = browsers().open(sim.url)
    driver_process = browser.driver.service.process
    driver_process.kill()
    driver_process.wait(timeout=10)

    try:
        with pytest.raises(BridgeScriptError, match="unreachable"):
            browser.bridge.state()
        probe = browser.bridge.probe(timeout_s=2)  # never raises: a failed verdict instead
        assert probe["ok"] is False and "unreachable" in probe["error"]
    finally:
        _kill_chromium(browser.profile_dir)  # orphaned by its chromedriver: a worker's stop kills the tree


def _pending_at_the_servers(sim, phone) -> int:
    return sum(d["pending_events"] for d in sim.ok("GET", "/devices") if d["phone"] == phone)


def test_a_quiesced_page_leaves_what_it_receives_with_the_servers(sim, browsers, phone):
    """What a dead worker's reaper does before stopping its pages (through DevTools): from
    then on the page sends no receipt, so the servers keep every message for the next page,
    whether or not this page's journal write would have committed before it was stopped."""
    first = browsers().open(sim.url)
    _login_and_settle(sim, first, phone)

    answers = pages_quiesce([first.profile_dir], settle_s=3)
    sent = _deliver(sim, phone, 3)
    wait_for(lambda: set(_inbound_ids(first.bridge)) == set(sent), what="the 3 messages in the page")
    time.sleep(1)  # time enough for receipts, had any gone out

    assert answers == {first.profile_dir.name: [{"quiesced": True, "unjournaled": 0}]}
    assert _pending_at_the_servers(sim, phone) == 3
    _kill_chromium(first.profile_dir)
    second = browsers(profile_dir=first.profile_dir).open(sim.url)
    wait_event(second.bridge, "ready", timeout=15)
    wait_for(lambda: set(_inbound_ids(second.bridge)) == set(sent), what="the 3 messages again")
    wait_for(lambda: _pending_at_the_servers(sim, phone) == 0, what="the new page's receipts")
