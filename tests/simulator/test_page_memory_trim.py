"""A page's garbage is collected over its DevTools connection (issue 18, sessions_app/webjs/
host/memory.py): the command the host sends without waiting really frees what the page no
longer references. Real headless Chromium on the simulator's page."""

from __future__ import annotations

import pytest

from sessions_app.webjs.driver.push import open_wake_channel, page_target_id
from sessions_app.webjs.host.memory import GARBAGE_COLLECTION

from .support import wait_for

pytestmark = pytest.mark.browser

# 20 MB the page drops at once, watched through a WeakRef: V8 keeps an unreferenced object until
# a collection it has no reason to run on an idle page, so the WeakRef empties only when one runs.
ALLOCATE_AND_DROP = """
  (() => {
    let garbage = new Array(20 * 1024 * 1024 / 8).fill(0).map((_, i) => i + 0.5);
    window.__trimWatch = new WeakRef(garbage);
    garbage = null;
    return true;
  })()
"""
STILL_HELD = "window.__trimWatch.deref() !== undefined"


@pytest.fixture
def channel(sim, browsers):
    browser = browsers().open(sim.url)
    channel = open_wake_channel(
        browser.driver, target_id=page_target_id(browser.driver), on_wake=lambda: None, name="trim"
    )
    assert channel is not None, "the page's DevTools endpoint was not reachable"
    try:
        yield channel
    finally:
        channel.close()


def test_it_frees_what_the_page_dropped(channel):
    assert channel.evaluate(ALLOCATE_AND_DROP, timeout_s=10) is True
    held = channel.evaluate(STILL_HELD, timeout_s=5)
    assert held is True, "collected before the trim: the test would prove nothing"

    assert channel.command_nowait(GARBAGE_COLLECTION) is True

    wait_for(
        lambda: channel.evaluate(STILL_HELD, timeout_s=5) is False,
        timeout=10,
        what="the dropped array to be collected",
    )
    # The answer nobody waited for was dropped; the connection still serves calls.
    assert channel.evaluate("1 + 1", timeout_s=5) == 2


def test_a_closed_connection_refuses_without_raising(channel):
    channel.close()
    assert channel.command_nowait(GARBAGE_COLLECTION) is False
