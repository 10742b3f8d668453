"""The login lives in the browser profile: the same or a copied profile logs in without a QR,
and a logout from the phone wipes it."""

from __future__ import annotations

import shutil

import pytest

from .conftest import quit_browser
from .support import device_id_of, events_of, login, wait_event, wait_for

pytestmark = pytest.mark.browser


def _comes_back_without_qr(sim, browser, phone):
    ready = wait_event(browser.bridge, "ready", timeout=15)
    assert ready["payload"]["me"] == phone
    assert browser.bridge.me() == phone
    assert events_of(browser.bridge, "auth_code") == []
    assert browser.screen() == "main"


def test_it_logs_in_again_from_the_same_profile(sim, browsers, phone):
    first = browsers().open(sim.url)
    device_id = login(sim, first, phone)
    quit_browser(first)

    second = browsers(profile_dir=first.profile_dir).open(sim.url)

    _comes_back_without_qr(sim, second, phone)
    assert device_id_of(second) == device_id


def test_it_logs_in_from_a_copied_profile(sim, browsers, phone, tmp_path):
    first = browsers().open(sim.url)
    device_id = login(sim, first, phone)
    quit_browser(first)
    copy = tmp_path / "restored-profile"
    shutil.copytree(first.profile_dir, copy, ignore=shutil.ignore_patterns("Singleton*"))

    restored = browsers(profile_dir=copy).open(sim.url)

    _comes_back_without_qr(sim, restored, phone)
    assert device_id_of(restored) == device_id
    restored.bridge.send("+5511900000009", "from the restored profile")
    assert sim.ok("GET", f"/phones/{phone}/outbox")[-1]["device_id"] == device_id


def test_it_shows_a_qr_again_after_the_phone_logs_the_device_out(sim, browsers, phone):
    browser = browsers().open(sim.url)
    device_id = login(sim, browser, phone)
    before = browser.bridge.state()["seq"]

    sim.ok("POST", f"/devices/{device_id}/logout", {})

    # WhatsApp Web reloads itself after a logout; the bridge comes back with its queue.
    logout = wait_event(browser.bridge, "logout", after_seq=before)
    code = wait_event(browser.bridge, "auth_code", after_seq=logout["seq"], timeout=15)
    assert code["payload"]["code"]
    assert browser.bridge.me() is None
    assert browser.bridge.state()["authenticated"] is False
    wait_for(lambda: browser.screen() == "landing", what="the QR screen")
    assert device_id_of(browser) != device_id  # a fresh identity, not the removed one
    assert phone not in sim.ok("GET", "/phones")
    assert sim.ok("GET", f"/devices/{device_id}")["status"] == "logged_out"


def test_it_forgets_the_login_when_wa_js_logout_is_called(sim, browsers, phone):
    browser = browsers().open(sim.url)
    device_id = login(sim, browser, phone)

    browser.driver.set_script_timeout(10)
    result = browser.driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "WPP.conn.logout().then(done, function (e) { done('ERR ' + e); });"
    )

    assert result is True
    wait_event(browser.bridge, "logout")
    assert sim.ok("GET", f"/devices/{device_id}")["status"] == "logged_out"
