"""Linking a browser: the QR screen, its rotation, scanning, and linking with a code."""

from __future__ import annotations

import pytest

from .conftest import QR_PERIOD_S
from .support import device_id_of, events_of, wait_event, wait_for

pytestmark = pytest.mark.browser


def test_it_shows_a_qr_code_that_rotates(sim, browsers):
    browser = browsers().open(sim.url)

    first = wait_event(browser.bridge, "auth_code")["payload"]["code"]
    second = wait_event(
        browser.bridge, "auth_code", match=lambda e: e["payload"]["code"] != first, timeout=QR_PERIOD_S * 3
    )["payload"]["code"]

    assert first.count(",") == 3 and second.count(",") == 3  # ref,noiseKey,identityKey,advSecret
    assert browser.screen() == "landing"
    state = browser.bridge.state()
    assert state["authenticated"] is False and state["ready"] is False
    assert browser.bridge.me() is None
    # The phone can only scan what is on screen now.
    status, _ = sim.api("POST", "/scan", {"phone": "+5511900000001", "code": first})
    assert status == 404
    waiting = wait_for(lambda: [q for q in sim.ok("GET", "/qr") if q["device_id"] == device_id_of(browser)])
    assert waiting[0]["code"] != first


def test_it_logs_in_when_the_phone_scans_the_code(sim, browsers, phone):
    browser = browsers().open(sim.url)
    wait_event(browser.bridge, "auth_code")

    def scan_what_is_on_screen() -> bool:
        code = browser.driver.execute_script("return document.getElementById('qr').dataset.ref;")
        status, _ = sim.api("POST", "/scan", {"phone": phone, "code": code})
        return status == 200  # 404 only if the code rotated in between

    wait_for(scan_what_is_on_screen, timeout=10, interval=0.05)

    authenticated = wait_event(browser.bridge, "authenticated")
    ready = wait_event(browser.bridge, "ready")
    assert ready["seq"] > authenticated["seq"]
    assert ready["payload"]["me"] == phone
    assert browser.bridge.me() == phone
    state = browser.bridge.state()
    assert state["authenticated"] and state["ready"] and state["connected"]
    assert state["auth_code"] is None
    assert browser.screen() == "main"
    assert sim.ok("GET", "/phones")[phone] == [device_id_of(browser)]


def test_it_links_with_a_code_instead_of_a_qr(sim, browsers, phone):
    browser = browsers().open(sim.url)
    wait_event(browser.bridge, "auth_code")

    browser.driver.set_script_timeout(10)
    code = browser.driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "WPP.conn.genLinkDeviceCodeForPhoneNumber(arguments[0])"
        ".then(done, function (e) { done('ERR ' + e); });",
        phone.lstrip("+"),
    )
    assert isinstance(code, str) and len(code) == 8, code

    status, body = sim.api("POST", "/link-code", {"phone": "+5511900000002", "code": code})
    assert status == 409, body  # the code belongs to the number it was asked for
    sim.ok("POST", "/link-code", {"phone": phone, "code": f"{code[:4]}-{code[4:]}"})

    wait_event(browser.bridge, "ready")
    assert browser.bridge.me() == phone
    assert not [
        e
        for e in events_of(browser.bridge, "auth_code")
        if e["seq"] > wait_event(browser.bridge, "ready")["seq"]
    ]
