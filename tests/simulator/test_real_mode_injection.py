"""Against a page without its own `WPP` (real WhatsApp Web), the driver injects the wa-js
bundle; a missing bundle is a clear error naming the fix, never a silent fallback."""

import pytest

from sessions_app.webjs.driver.errors import BrowserStartError
from sessions_app.webjs.driver.page import WaJsBundleMissing, open_whatsapp

pytestmark = pytest.mark.browser


def test_it_refuses_a_page_without_wpp_when_the_bundle_is_missing(sim, browsers, tmp_path):
    browser = browsers()
    with pytest.raises(WaJsBundleMissing, match=r"vendor_wajs\.sh"):
        open_whatsapp(browser.driver, url=sim.url + "control/", wajs_bundle=tmp_path / "absent.js")
    assert issubclass(WaJsBundleMissing, BrowserStartError)


def test_it_injects_the_bundle_before_the_bridge(sim, browsers, tmp_path):
    # A stand-in for the wa-js bundle: defines the WPP surface the bridge subscribes to.
    bundle = tmp_path / "wppconnect-wa.js"
    bundle.write_text(
        "window.WPP = {isReady: true, on: function () {}, ev: {on: function () {}},"
        " conn: {isAuthenticated: function () { return false; }, isMainReady: function () { return false; },"
        " getAuthCode: function () { return null; }, getMyUserId: function () { return null; }}};"
    )
    browser = browsers()
    bridge = open_whatsapp(browser.driver, url=sim.url + "control/", wajs_bundle=bundle)
    assert browser.driver.execute_script("return window.WPP.isReady === true")
    assert bridge.is_injected()
