"""Browsers start from the local binaries only: no Selenium Manager, no driver download, no
connection anywhere but loopback; undetected-chromedriver (BLAZZ_BROWSER=uc) included."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from .support import browser_descendants, session_processes

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
_recording: list[tuple[str, object]] | None = None


def _audit(event: str, args: tuple) -> None:
    if _recording is None:
        return
    if event == "subprocess.Popen":
        _recording.append(("exec", os.fspath(args[0])))
    elif event == "urllib.Request":
        _recording.append(("http", args[0]))
    elif event == "socket.connect" and isinstance(args[1], tuple):
        _recording.append(("connect", args[1][0]))
    elif event == "socket.getaddrinfo":
        _recording.append(("resolve", args[0]))


sys.addaudithook(_audit)  # hooks cannot be removed; it records only inside `network_log`


@pytest.fixture
def network_log() -> Iterator[list[tuple[str, object]]]:
    global _recording
    _recording = []
    try:
        yield _recording
    finally:
        _recording = None


def _is_loopback(host: object) -> bool:
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def _assert_offline(log: list[tuple[str, object]], allowed_executables: set[str]) -> None:
    executed = {value for kind, value in log if kind == "exec"}
    assert executed <= allowed_executables, f"ran {executed - allowed_executables}"
    remote = [
        (kind, value)
        for kind, value in log
        if (kind in ("connect", "resolve") and not _is_loopback(value))
        or (kind == "http" and not _is_loopback(urlsplit(str(value)).hostname))
    ]
    assert remote == []


def test_it_starts_selenium_without_selenium_manager_or_network(start_browser, page_server, network_log):
    browser = start_browser(kind="selenium")
    browser.driver.get(page_server.url("blank.html"))

    assert browser.driver.title == "blank"
    _assert_offline(network_log, {CHROMEDRIVER})
    assert browser.browser_version.split(".")[0].isdigit()


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_it_starts_and_stops_uc_with_local_binaries_and_no_zombie(
    start_browser, page_server, data_dir, network_log
):
    pytest.importorskip("undetected_chromedriver", reason="undetected-chromedriver does not import")
    system_driver = _sha256(CHROMEDRIVER)

    browser = start_browser(kind="uc")
    browser.driver.get(page_server.url("blank.html"))

    assert browser.driver.title == "blank"
    private_drivers = list((data_dir / "bin").iterdir())
    assert len(private_drivers) == 1 and b"undetected chromedriver" in private_drivers[0].read_bytes()
    assert _sha256(CHROMEDRIVER) == system_driver  # the system driver is never patched
    _assert_offline(network_log, {CHROMIUM, str(private_drivers[0])})
    chrome = psutil.Process(browser._popens[0].pid)
    # Chrome's output goes nowhere instead of into a pipe nobody reads (which fills and blocks).
    assert os.readlink(f"/proc/{chrome.pid}/fd/2") == "/dev/null"
    assert os.readlink(f"/proc/{chrome.pid}/fd/1") == "/dev/null"
    pids = browser.pids()

    report = browser.stop(10)

    assert not report.forced
    assert session_processes(pids, browser.user_data_dir) == []
    assert browser_descendants() == []  # chromedriver and Chrome reaped: no zombie


def test_it_reuses_the_patched_uc_driver_while_another_session_runs(start_browser, page_server, data_dir):
    pytest.importorskip("undetected_chromedriver", reason="undetected-chromedriver does not import")
    first = start_browser("s1", kind="uc")
    second = start_browser("s2", kind="uc")  # would fail with ETXTBSY if uc re-patched the running driver
    for browser in (first, second):
        browser.driver.get(page_server.url("blank.html"))
        assert browser.driver.title == "blank"
    assert len(list((data_dir / "bin").iterdir())) == 1
