"""The worker drains a page over the page's own DevTools connection (issue 18,
sessions_app/webjs/driver/push.py), the one that already pushes its wake-ups, instead of
chromedriver's execute_script: the same events, confirmed the same way, answered to the
right caller when several threads ask at once, and through WebDriver again when that
connection is gone. Real headless Chromium on the simulator."""

from __future__ import annotations

import threading
import time

import pytest

from sessions_app.webjs.driver.bridge import MISSING
from sessions_app.webjs.driver.errors import BridgeScriptError
from sessions_app.webjs.driver.push import (
    EvaluationFailed,
    PushUnavailable,
    open_wake_channel,
    page_target_id,
)

from .support import login, random_phone, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def page(sim, browsers, phone):
    browser = browsers().open(sim.url)
    login(sim, browser, phone)
    wakes: list[int] = []
    channel = open_wake_channel(
        browser.driver, target_id=page_target_id(browser.driver), on_wake=lambda: wakes.append(1), name="t"
    )
    assert channel is not None, "the page's DevTools endpoint was not reachable"
    try:
        yield browser, channel, wakes
    finally:
        channel.close()


def _deliver(sim, phone, count, tag):
    contact = random_phone()
    return [
        sim.ok("POST", "/messages", {"from": contact, "to": phone, "body": f"{tag} {i}"})["message"]["id"]
        for i in range(count)
    ]


def _message_ids(events):
    return [e["payload"]["id"] for e in events if e["type"] == "message" and not e["payload"]["fromMe"]]


def test_a_drain_over_the_channel_reads_what_webdriver_reads_and_its_confirm_forgets_them(sim, page, phone):
    browser, channel, wakes = page
    sent = _deliver(sim, phone, 12, "channel")
    wait_for(lambda: set(sent) <= set(_message_ids(browser.bridge.drain(10_000))), what="the 12 messages")
    assert wakes, "the page never pushed a wake-up"

    # Over the channel itself, not a silent fallback to WebDriver:
    assert browser.bridge._call_over(channel, "b.harvest(500)") != MISSING
    over_channel = browser.bridge.harvest(channel=channel)
    over_webdriver = browser.bridge.harvest()

    assert over_channel["events"] == over_webdriver["events"]
    assert set(sent) <= set(_message_ids(over_channel["events"]))
    assert over_channel["state"]["ready"] is True
    remaining = browser.bridge.confirm(max(e["seq"] for e in over_channel["events"]), channel=channel)
    assert remaining == 0
    assert browser.bridge.drain(10_000) == []


def test_each_of_many_threads_gets_its_own_answer(page):
    _, channel, _ = page
    answers: dict[int, object] = {}

    def ask(n: int) -> None:
        # Answers come back out of order: each waits a different time in the page.
        later = f"new Promise(r => setTimeout(() => r({n} * 7), {(n * 13) % 40}))"
        answers[n] = channel.evaluate(later, timeout_s=5)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == {n: n * 7 for n in range(16)}


def test_a_page_exception_is_an_error_and_a_closed_channel_falls_back_to_webdriver(sim, page, phone):
    browser, channel, _ = page
    with pytest.raises(EvaluationFailed, match="boom"):
        channel.evaluate("(() => { throw new Error('boom'); })()", timeout_s=5)
    with pytest.raises(BridgeScriptError):
        browser.bridge._call_over(channel, "b.nosuchfunction()")

    channel.close()
    with pytest.raises(PushUnavailable):
        channel.evaluate("1", timeout_s=1)
    sent = _deliver(sim, phone, 3, "fallback")
    wait_for(
        lambda: set(sent) <= set(_message_ids(browser.bridge.harvest(channel=channel)["events"])),
        what="the 3 messages through WebDriver",
    )


def test_a_page_wakes_the_worker_again_while_its_events_wait_undrained(sim, page, phone):
    # A wake-up the worker lost must not leave events waiting for its slow sweep.
    browser, _, wakes = page
    _deliver(sim, phone, 1, "rewake")
    wait_for(lambda: wakes, what="the first wake-up")
    first = len(wakes)
    wait_for(lambda: len(wakes) > first, timeout=6, what="a second wake-up without a drain")
    browser.bridge.confirm(max(e["seq"] for e in browser.bridge.drain(10_000)))
    settled = len(wakes)
    time.sleep(3.5)
    assert len(wakes) == settled, "a page with nothing left to drain kept waking the worker"


def test_a_probe_over_the_channel_needs_no_webdriver_and_still_catches_a_frozen_page(sim, browsers, phone):
    # The liveness probe goes over the page's DevTools connection (no page lock, no
    # chromedriver): it must judge a hung page exactly as the WebDriver probe does (F7).
    browser = browsers().open(sim.url)
    device_id = login(sim, browser, phone)
    channel = open_wake_channel(
        browser.driver, target_id=page_target_id(browser.driver), on_wake=lambda: None, name="probe"
    )
    assert channel is not None
    try:
        state, probe = browser.bridge.probe_over(channel, timeout_s=2)
        assert state["ready"] is True and state["authenticated"] is True
        assert probe["ok"] is True and probe["rtt_ms"] >= 0

        sim.ok("POST", f"/devices/{device_id}/freeze", {})
        began = time.monotonic()
        state, probe = browser.bridge.probe_over(channel, timeout_s=2)
        assert probe == {"ok": False, "reason": "timeout"}
        assert time.monotonic() - began < 3
        assert state["connected"] is True  # the silent hang still claims to be fine
        sim.ok("POST", f"/devices/{device_id}/unfreeze", {})
        wait_for(lambda: browser.bridge.probe_over(channel, timeout_s=2)[1]["ok"], what="a good probe again")
    finally:
        channel.close()
    assert browser.bridge.probe_over(channel, timeout_s=2) is None  # closed: the caller uses WebDriver
