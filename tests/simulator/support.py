"""Helpers for the simulator tests: run the simulator as a real process, talk to its control
API, act as a bare page over its websocket, start real headless Chromium, and wait for
bridge events."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import psutil
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from sessions_app.webjs.driver.bridge import PageBridge
from sessions_app.webjs.driver.page import install_page_scripts

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
T = TypeVar("T")


def random_phone() -> str:
    return "+55119" + "".join(random.choice("0123456789") for _ in range(8))


def wait_for(
    predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


class SimProcess:
    """``python -m wasim`` in a subprocess; stopped by PID."""

    def __init__(self, *args: str, log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> SimProcess:
        log = open(self.log_path, "a", encoding="utf-8")  # lives as long as the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wasim", *self.args],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.url = read_announced_url(self.proc)
        return self

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 5 s; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def api(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
        return control_api(self.url, method, path, body, raw=raw)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.api(method, path, body)
        assert status == 200, (status, data)
        return data


def read_announced_url(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The URL from the ``... listening on http://host:port/`` line."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""))
    reader.start()
    reader.join(timeout)
    if not lines or "listening on" not in lines[0]:
        proc.kill()
        raise AssertionError(f"simulator did not announce itself: {lines!r}")
    return lines[0].split()[-1]


def control_api(
    url: str, method: str, path: str, body: Any = None, *, raw: bytes | None = None
) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode("utf-8"))
    request = urllib.request.Request(
        url + "control/api" + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        payload = exc.read().decode("utf-8")
        try:
            return exc.code, json.loads(payload)
        except ValueError:
            return exc.code, payload


async def page_hello(url: str, *, device_id: str, secret: str, phone: str | None = None) -> dict[str, Any]:
    """Connect like a page with a stored identity; return the servers' first answer."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url.replace("http://", "ws://") + "ws") as ws:
            await ws.send_json({"type": "hello", "device_id": device_id, "secret": secret, "phone": phone})
            message = await ws.receive(timeout=5)
            return json.loads(message.data)


def hello(url: str, **identity: Any) -> dict[str, Any]:
    return asyncio.run(page_hello(url, **identity))


def link_bare_page(url: str, *, device_id: str, secret: str, phone: str) -> dict[str, Any]:
    """Play a page that shows its QR while the phone scans it; returns the pairing push."""

    async def run() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url.replace("http://", "ws://") + "ws") as ws:
                await ws.send_json({"type": "hello", "device_id": device_id, "secret": secret, "phone": None})
                assert json.loads((await ws.receive(timeout=5)).data)["type"] == "qr"
                status, body = await asyncio.to_thread(
                    control_api, url, "POST", "/scan", {"phone": phone, "device_id": device_id}
                )
                assert status == 200, body
                while True:
                    frame = json.loads((await ws.receive(timeout=5)).data)
                    if frame["type"] != "qr":
                        return frame

    return asyncio.run(run())


@dataclass
class Browser:
    driver: webdriver.Chrome
    profile_dir: Path
    bridge: PageBridge = field(init=False)

    def __post_init__(self) -> None:
        # BLAZZ_BRIDGE_SCRIPT runs these tests against another bridge (an older one, to show
        # what a test catches).
        other = os.environ.get("BLAZZ_BRIDGE_SCRIPT")
        self.bridge = PageBridge(self.driver, script_path=Path(other) if other else None)

    def open(self, url: str) -> Browser:
        """Opens the simulator's page the way the product does: WPPConfig, the wa-js 4.6.0
        stand-in and the bridge as document-start scripts (re-run on every reload)."""
        install_page_scripts(self.driver, wajs_bundle=url + "wppconnect-wa.js", bridge=self.bridge)
        self.driver.get(url)
        self.bridge.inject()
        return self

    def screen(self) -> str:
        return self.driver.execute_script("return document.getElementById('app').dataset.screen;")


def start_chromium(profile_dir: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def processes_using(profile_dir: Path) -> list[psutil.Process]:
    marker = f"--user-data-dir={profile_dir}"
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if marker in (proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def events_of(bridge: PageBridge, kind: str, *, after_seq: int = 0) -> list[dict[str, Any]]:
    return [e for e in bridge.drain(10_000) if e["type"] == kind and e["seq"] > after_seq]


def wait_event(
    bridge: PageBridge,
    kind: str,
    *,
    after_seq: int = 0,
    match: Callable[[dict[str, Any]], bool] = lambda event: True,
    timeout: float = 10.0,
) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((e for e in events_of(bridge, kind, after_seq=after_seq) if match(e)), None)

    return wait_for(found, timeout=timeout, what=f"a {kind!r} bridge event")


def last_seq(bridge: PageBridge) -> int:
    return int(bridge.state()["seq"])


def device_id_of(browser: Browser) -> str:
    """The device identity this browser's profile holds (the simulator page's marker)."""
    return wait_for(
        lambda: browser.driver.execute_script(
            "var m = localStorage.getItem('last-wid-md'); return m && JSON.parse(m).device_id;"
        ),
        what="the page's device identity",
    )


def login(sim: SimProcess, browser: Browser, phone: str) -> str:
    """Scan the browser's QR as ``phone`` and wait until it is ready; returns the device id."""
    wait_event(browser.bridge, "auth_code")
    device_id = device_id_of(browser)
    sim.ok("POST", "/scan", {"phone": phone, "device_id": device_id})
    wait_event(browser.bridge, "ready")
    return device_id
