"""Opening WhatsApp Web (or the simulator) in a started browser with wa-js and the bridge.

Three new-document scripts are installed before the first navigation, in this order, so they
run before any of the page's own scripts on every document the tab ever loads (WhatsApp Web
reloads itself after an update, a conflict or a logout, and each reload would otherwise
leave a page without `WPP`, deaf until liveness restarted it):

1. `window.WPPConfig` (wa-js reads it once, when the bundle is evaluated: src/config/index.ts)
   and the send options Blazz chooses;
2. the wa-js bundle (npm @wppconnect/wa-js, vendored by scripts/vendor_wajs.sh; the
   simulator serves a stand-in of the same version);
3. the page bridge (sessions_app/webjs/bridge.js).

A missing bundle is a clear error, never a silent fallback."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver

from .bridge import PageBridge
from .errors import BrowserStartError

WPP_WAIT_S = 10.0
BUNDLE_FETCH_TIMEOUT_S = 10.0


class WaJsBundleMissing(BrowserStartError):
    pass


def _setting(name: str, default: Any) -> Any:
    try:
        from django.conf import settings

        if settings.configured:
            return getattr(settings, name, default)
    except ImportError:
        pass
    return default


def wpp_config_script(
    *,
    disable_analytics: bool | None = None,
    send_status_to_device: bool | None = None,
    mark_is_read: bool | None = None,
    link_preview: bool | None = None,
) -> str:
    """The script that sets `window.WPPConfig` and Blazz's send options; unset arguments
    come from settings (BLAZZ_WA_*)."""
    config = {
        "disableGoogleAnalytics": _pick(disable_analytics, "BLAZZ_WA_DISABLE_ANALYTICS", True),
        "sendStatusToDevice": _pick(send_status_to_device, "BLAZZ_WA_SEND_STATUS_TO_DEVICE", True),
        # wa-js's `deviceName` default is false (the WhatsApp Web name stays); poweredBy only
        # labels analytics, which are off.
    }
    send_options = {
        "markIsRead": _pick(mark_is_read, "BLAZZ_WA_MARK_IS_READ", False),
        "linkPreview": _pick(link_preview, "BLAZZ_WA_LINK_PREVIEW", False),
    }
    frozen_options = f"Object.freeze({json.dumps(send_options)})"
    return (
        f"window.WPPConfig = {json.dumps(config)};\n"
        f"Object.defineProperty(window, '__blazzSendOptions', {{value: {frozen_options}}});"
    )


def _pick(value: bool | None, setting: str, default: bool) -> bool:
    return bool(_setting(setting, default)) if value is None else bool(value)


_fetched: dict[str, str] = {}


def wajs_bundle_source(location: str | Path | None) -> str:
    """The bundle's JavaScript: read from a file, or fetched once per process from an
    http(s) URL (the simulator's stand-in on loopback). Raises WaJsBundleMissing."""
    text = str(location or "")
    if text.startswith(("http://", "https://")):
        if text not in _fetched:
            try:
                # The URL is the operator's own setting (the simulator on loopback), not input.
                with urllib.request.urlopen(text, timeout=BUNDLE_FETCH_TIMEOUT_S) as response:  # noqa: S310  # nosec B310
                    _fetched[text] = response.read().decode("utf-8")
            except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
                raise WaJsBundleMissing(f"could not load the wa-js bundle from {text}: {exc}") from exc
        return _fetched[text]
    if not text or not Path(text).is_file():
        raise WaJsBundleMissing(
            f"the wa-js bundle is missing at {text or '(unset)'}. Install it with scripts/vendor_wajs.sh "
            "(npm @wppconnect/wa-js), or set BLAZZ_WAJS_BUNDLE."
        )
    return Path(text).read_text(encoding="utf-8")


def install_page_scripts(driver: WebDriver, *, wajs_bundle: str | Path | None, bridge: PageBridge) -> None:
    """Registers WPPConfig, the bundle and the bridge to run at the start of every document."""
    bundle = wajs_bundle_source(wajs_bundle)
    for source in (wpp_config_script(), bundle, bridge.source()):
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})


def _page_has_wpp(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return typeof window.WPP !== 'undefined' && !!window.__blazz;"))


def open_whatsapp(
    driver: WebDriver,
    *,
    url: str,
    wajs_bundle: str | Path | None,
    page_load_timeout_s: float = 30,
    timings: dict[str, float] | None = None,
) -> PageBridge:
    """Installs the document-start scripts, loads `url`, and returns the page's bridge.
    ``timings``, when given, receives the seconds of each step (scripts, load, wpp): a
    slow page start has to say which of them it waited on (issue 18)."""
    timings = {} if timings is None else timings
    began = time.monotonic()
    driver.set_page_load_timeout(page_load_timeout_s)
    bridge = PageBridge(driver)
    install_page_scripts(driver, wajs_bundle=wajs_bundle, bridge=bridge)
    timings["scripts"] = time.monotonic() - began
    began = time.monotonic()
    try:
        driver.get(url)
    except WebDriverException as exc:
        raise BrowserStartError(f"could not open {url}: {exc.msg}") from exc
    timings["load"] = time.monotonic() - began
    began = time.monotonic()
    deadline = began + WPP_WAIT_S
    while not _page_has_wpp(driver) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _page_has_wpp(driver):
        raise BrowserStartError(
            f"{url} loaded but window.WPP or the bridge is missing (bundle {wajs_bundle})"
        )
    timings["wpp"] = time.monotonic() - began
    bridge.inject()  # a no-op: the new-document script already installed it
    return bridge
