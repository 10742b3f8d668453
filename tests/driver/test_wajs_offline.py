"""The bridge against the real wa-js bundle at the pinned version, offline (DESIGN §6).

- Every place that names the wa-js version names the same one, so a bump of one fails.
- ``sessions_app/webjs/bridge.js`` type-checks against wa-js's own declarations
  (``scripts/check_bridge_types.sh``): a misspelt member or a wrong argument count fails here.
- On a stub page of our own (no WhatsApp), the real bundle loads as it is injected in
  production (``WPPConfig`` first, then the bundle, then the bridge, all at document start),
  the bridge subscribes, every ``WPP`` member the bridge says it calls (``__blazz.wppApi``)
  exists with that type, and the page asks for nothing but loopback.

What this cannot show: anything after wa-js's loader finds WhatsApp's webpack (``isReady``),
which only the real site (or the simulator's model of it) provides. A missing bundle is a
failure, never a skip: ``scripts/bootstrap.sh`` installs it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import websocket

from sessions_app.webjs.driver import page as driver_page
from sessions_app.webjs.driver.devtools import devtools_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
VENDOR_SCRIPT = ROOT / "scripts" / "vendor_wajs.sh"
BUNDLE = ROOT / "vendor" / "wa-js" / "wppconnect-wa.js"
BUNDLE_VERSION_FILE = ROOT / "vendor" / "wa-js" / "VERSION"
JSCHECK = ROOT / "scripts" / "jscheck"
CONTRACT = ROOT / "wasim" / "CONTRACT.md"
BRIDGE = ROOT / "sessions_app" / "webjs" / "bridge.js"
CHECK_TYPES = ROOT / "scripts" / "check_bridge_types.sh"

VERSION = re.compile(r"\d+\.\d+\.\d+")
# Chrome resolves no name but loopback: a request that slips past the log below still
# cannot leave the machine.
OFFLINE_ARGUMENTS = ("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",)
NETWORK_SCHEMES = ("http", "https", "ws", "wss")
# Long enough for what the bundle schedules at load (timers, its loader's polling) to ask
# for something, if it were going to.
SETTLE_S = 2.0


def _pinned_version() -> str:
    match = re.search(r"WAJS_VERSION:-([^}\s]+)\}", VENDOR_SCRIPT.read_text())
    assert match, f"no WAJS_VERSION default in {VENDOR_SCRIPT}"
    return match.group(1)


def _bundle_source() -> str:
    if not BUNDLE.is_file():
        pytest.fail(f"the wa-js bundle is missing at {BUNDLE}: run scripts/vendor_wajs.sh")
    return BUNDLE.read_text(encoding="utf-8")


def _first_version(text: str, where: Path | str) -> str:
    match = VERSION.search(text)
    assert match, f"no version in {where}: {text[:200]!r}"
    return match.group(0)


def _is_loopback(host: str | None) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def test_the_pinned_versions_agree() -> None:
    bundle = _bundle_source()
    header = re.search(r"/\*! wppconnect-team/wa-js v(\d+\.\d+\.\d+) \*/", bundle[:2000])
    package = json.loads((JSCHECK / "package.json").read_text())
    lock = json.loads((JSCHECK / "package-lock.json").read_text())
    assert CONTRACT.is_file(), f"{CONTRACT} is missing (its first line names the wa-js version it models)"
    contract_first_line = (CONTRACT.read_text().splitlines() or [""])[0]

    versions = {
        "scripts/vendor_wajs.sh": _pinned_version(),
        "vendor/wa-js/VERSION": BUNDLE_VERSION_FILE.read_text().strip(),
        "bundle header": header.group(1) if header else "no header",
        "scripts/jscheck/package.json": package["devDependencies"]["@wppconnect/wa-js"],
        "scripts/jscheck/package-lock.json": lock["packages"]["node_modules/@wppconnect/wa-js"]["version"],
        "wasim/CONTRACT.md": _first_version(contract_first_line, CONTRACT),
    }

    assert len(set(versions.values())) == 1, f"the wa-js pins disagree: {versions}"


def test_the_bridge_type_checks_against_wa_js_declarations() -> None:
    result = subprocess.run(
        [str(CHECK_TYPES)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )

    assert result.returncode == 0, (
        f"bridge.js does not type-check against @wppconnect/wa-js@{_pinned_version()} "
        f"(exit {result.returncode}):\n{result.stdout}{result.stderr}"
    )


class _NetworkLog:
    """Every URL one page target requests (``Network.requestWillBeSent``, WebSockets
    included), read from a second DevTools connection: chromedriver keeps the CDP events of
    its own connection to itself."""

    def __init__(self, debugger_port: int, target_id: str) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{debugger_port}/json/list", timeout=5) as reply:
            targets = json.load(reply)
        urls = [t["webSocketDebuggerUrl"] for t in targets if t.get("id") == target_id]
        assert urls, f"no DevTools target {target_id} in {[t.get('id') for t in targets]}"
        self.urls: list[str] = []
        self._socket = websocket.create_connection(urls[0], timeout=5, suppress_origin=True)
        # Enabled (and acknowledged) before anything navigates, so no request is missed.
        self._socket.send(json.dumps({"id": 1, "method": "Network.enable", "params": {}}))
        while json.loads(self._socket.recv()).get("id") != 1:
            pass
        self._socket.settimeout(None)
        self._reader = threading.Thread(target=self._read, name="cdp-network-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self._socket.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                return
            params = message.get("params") or {}
            if message.get("method") == "Network.requestWillBeSent":
                self.urls.append(params["request"]["url"])
            elif message.get("method") == "Network.webSocketCreated":
                self.urls.append(params["url"])

    def close(self) -> None:
        self._socket.close()
        self._reader.join(5)


def _wpp_config_script() -> str:
    """What production sets before the bundle loads (the bundle reads WPPConfig once, at load)."""
    product = getattr(driver_page, "wpp_config_script", None)
    if product is not None:
        return product()
    return "window.WPPConfig = {disableGoogleAnalytics: true, sendStatusToDevice: true};"


def _remote(urls: list[str]) -> list[str]:
    return [
        url
        for url in urls
        if urlsplit(url).scheme in NETWORK_SCHEMES and not _is_loopback(urlsplit(url).hostname)
    ]


# For each [path, type] the bridge lists: what `typeof` finds, walking down from WPP. Members
# wa-js resolves from WhatsApp Web's own modules (most of `whatsapp.*`) are getters that throw
# on a page without WhatsApp's webpack: for those, `lazy` says where, and that the name exists
# is all a stub page can show (tsc checks them against the declarations).
MEMBER_TYPES = """
const pairs = window.__blazz && window.__blazz.wppApi;
if (!Array.isArray(pairs)) return null;
return pairs.map(([path, expected]) => {
  const keys = String(path).split('.');
  let value = window.WPP;
  for (let i = 0; i < keys.length; i++) {
    if (value === null || !['object', 'function'].includes(typeof value) || !(keys[i] in value)) {
      return {path, expected, found: 'undefined', lazy: null};
    }
    try {
      value = value[keys[i]];
    } catch (e) {
      return {path, expected, found: null, lazy: keys.slice(0, i + 1).join('.') + ': ' + e};
    }
  }
  return {path, expected, found: typeof value, lazy: null};
});
"""


def test_the_real_bundle_loads_and_the_bridge_finds_every_name_it_calls(start_browser, page_server) -> None:
    pinned = _pinned_version()
    bundle = _bundle_source()
    browser = start_browser(extra_arguments=OFFLINE_ARGUMENTS)
    driver = browser.driver
    port = devtools_port(browser.user_data_dir)
    assert port, "Chrome wrote no DevToolsActivePort"
    network = _NetworkLog(port, driver.current_window_handle)
    try:
        # The production order (page.py): configuration, bundle, bridge, each at document start.
        for source in (_wpp_config_script(), bundle, BRIDGE.read_text(encoding="utf-8")):
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        driver.get(page_server.url("blank.html"))
        time.sleep(SETTLE_S)

        loaded: dict[str, Any] = driver.execute_script(
            "return {wpp: typeof window.WPP, version: window.WPP && window.WPP.version,"
            " subscribed: !!(window.__blazz && window.__blazz.subscribed),"
            " analyticsOff: !!window.WPPConfig && window.WPPConfig.disableGoogleAnalytics === true,"
            " resources: performance.getEntriesByType('resource').map((e) => e.name)};"
        )
        members = driver.execute_script(MEMBER_TYPES)
    finally:
        network.close()

    assert loaded["wpp"] == "object"
    assert loaded["version"] == pinned
    assert loaded["subscribed"] is True
    assert loaded["analyticsOff"] is True, (
        "WPPConfig.disableGoogleAnalytics did not survive the bundle's load"
    )
    assert page_server.url("blank.html") in network.urls  # the log does see the page's requests
    assert _remote(network.urls) == []
    assert _remote(loaded["resources"]) == []
    assert members is not None, "bridge does not expose wppApi (window.__blazz.wppApi: [[path, typeof], ...])"
    assert members, "bridge exposes an empty wppApi"
    wrong = [
        (m["path"], m["expected"], m["found"])
        for m in members
        if not m["lazy"] and m["found"] != m["expected"]
    ]
    lazy = [m["lazy"] for m in members if m["lazy"]]
    assert wrong == [], (
        f"WPP members the bridge calls that wa-js {pinned} lacks: (path, expected, found) {wrong}; "
        f"resolved from WhatsApp Web's modules, so only their names were checked: {lazy}"
    )
