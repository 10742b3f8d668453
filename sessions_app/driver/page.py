"""Opening WhatsApp Web (or the simulator) in a started browser and installing the bridge.

The simulator's page brings its own `window.WPP`; real WhatsApp Web does not, and gets the
wa-js bundle (npm @wppconnect/wa-js, vendored by scripts/vendor_wajs.sh) injected first.
Its absence against a real site is a clear error, never a silent fallback."""

from __future__ import annotations

import time
from pathlib import Path

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver

from .bridge import PageBridge
from .errors import BrowserStartError

WPP_WAIT_S = 5.0


class WaJsBundleMissing(BrowserStartError):
    pass


def _page_has_wpp(driver: WebDriver) -> bool:
    return bool(driver.execute_script("return typeof window.WPP !== 'undefined';"))


def open_whatsapp(
    driver: WebDriver, *, url: str, wajs_bundle: Path | None, page_load_timeout_s: float = 30
) -> PageBridge:
    """Loads `url`, makes sure the page speaks `WPP`, injects the bridge; returns it."""
    driver.set_page_load_timeout(page_load_timeout_s)
    bridge = PageBridge(driver)
    try:
        # Before the page's scripts: the bridge must be listening when WhatsApp delivers what
        # arrived while the number was offline, which it does as soon as it connects.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": bridge.source()})
        driver.get(url)
    except WebDriverException as exc:
        raise BrowserStartError(f"could not open {url}: {exc.msg}") from exc
    deadline = time.monotonic() + WPP_WAIT_S
    while not _page_has_wpp(driver) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _page_has_wpp(driver):
        if wajs_bundle is None or not Path(wajs_bundle).is_file():
            raise WaJsBundleMissing(
                f"{url} does not provide WPP and the wa-js bundle is missing at {wajs_bundle}. "
                "Install it with scripts/vendor_wajs.sh (npm @wppconnect/wa-js), or set BLAZZ_WAJS_BUNDLE."
            )
        driver.execute_script(Path(wajs_bundle).read_text(encoding="utf-8"))
    bridge.inject()  # a no-op when the new-document script already installed it
    return bridge
