"""F8: lock files of a killed browser never block the next start, and browsers orphaned by
an earlier life of the worker are killed at worker start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from sessions_app.webjs.driver.browser import (
    DEFAULT_ARGUMENTS,
    kill_orphan_browsers,
    remove_stale_locks,
    sandbox_arguments,
)

from .support import session_processes

pytestmark = pytest.mark.browser


def test_it_removes_dangling_singleton_symlinks(tmp_path):
    os.symlink("otherhost-4242", tmp_path / "SingletonLock")
    os.symlink("/tmp/org.chromium.Chromium.gone/SingletonSocket", tmp_path / "SingletonSocket")

    assert remove_stale_locks(tmp_path) == ["SingletonLock", "SingletonSocket"]
    assert os.listdir(tmp_path) == []


def test_it_starts_over_the_locks_a_killed_browser_left(start_browser, page_server, data_dir):
    profile = data_dir / "profiles" / "s1"
    profile.mkdir(parents=True)
    # What a SIGKILLed browser on another host leaves: symlinks to nothing.
    os.symlink("otherhost-4242", profile / "SingletonLock")
    os.symlink("13238254241013804673", profile / "SingletonCookie")
    os.symlink("/tmp/org.chromium.Chromium.gone/SingletonSocket", profile / "SingletonSocket")

    browser = start_browser("s1")
    browser.driver.get(page_server.url("blank.html"))

    assert browser.driver.title == "blank"


def test_it_starts_on_a_profile_whose_browser_was_sigkilled(start_browser, page_server, data_dir):
    first = start_browser("s1")
    first.driver.get(page_server.url("blank.html"))
    first_pids = first.pids()
    for pid in first_pids:  # a crash, not a stop: locks stay, nothing is cleaned
        psutil.Process(pid).send_signal(signal.SIGKILL)
    assert os.path.lexists(first.user_data_dir / "SingletonLock")
    first_tmp_dir = first._tmp_dir
    assert any(first_tmp_dir.iterdir())  # the socket dir a killed Chrome leaves behind

    second = start_browser("s1")
    second.driver.get(page_server.url("blank.html"))

    assert second.driver.title == "blank"
    assert first.stop(5).leftover_pids == []
    assert second.stop(5).leftover_pids == []
    assert session_processes(first_pids, first.user_data_dir) == []
    assert not first_tmp_dir.exists()


def test_it_kills_only_orphan_browsers_of_its_data_dir(start_browser, page_server, data_dir, tmp_path):
    other_worker = start_browser("other", user_data_dir=tmp_path / "elsewhere" / "profiles" / "other")
    # A browser of an earlier worker life, as kill -9 of the worker leaves it: no driver.
    orphan_profile = data_dir / "profiles" / "old"
    orphan = subprocess.Popen(
        [
            "/usr/lib/chromium/chromium",
            "--headless=new",
            *sandbox_arguments(),
            *DEFAULT_ARGUMENTS,
            f"--user-data-dir={orphan_profile}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        psutil.Process(orphan.pid).children()  # started
        killed = kill_orphan_browsers(data_dir)
        assert orphan.pid in killed
        orphan.wait(5)  # already reaped by kill_orphan_browsers (it is our child here)
        assert session_processes([orphan.pid], orphan_profile) == []
        assert other_worker.is_alive()  # another data dir: untouched
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


ABANDON = """
import os, sys
sys.path.insert(0, os.getcwd())
from sessions_app.webjs.driver.browser import Browser
Browser.start(session_id="s1", user_data_dir=sys.argv[1], data_dir=sys.argv[2])
os._exit(0)  # a worker that dies without stopping its browser
"""


def _abandon_browser(profile, data_dir) -> psutil.Process:
    """Start a browser from a process that then dies; its chromedriver is handed to us."""
    subprocess.run([sys.executable, "-c", ABANDON, str(profile), str(data_dir)], check=True, timeout=60)
    drivers = [p for p in psutil.Process().children() if p.name() == "chromedriver"]
    assert len(drivers) == 1, "the dead worker's chromedriver was not handed to us (subreaper)"
    return drivers[0]


def test_it_takes_over_a_profile_from_a_dead_worker_browser_and_driver(start_browser, page_server, data_dir):
    driver = _abandon_browser(data_dir / "profiles" / "s1", data_dir)

    browser = start_browser("s1")
    browser.driver.get(page_server.url("blank.html"))

    assert browser.driver.title == "blank"
    assert not driver.is_running()  # killed with its browser, and reaped


def test_it_kills_a_dead_workers_driver_whose_browser_already_exited(start_browser, page_server, data_dir):
    # Chrome exits by itself when its profile is deleted under it; its chromedriver stays,
    # holding a zombie, and no command line names the profile any more.
    driver = _abandon_browser(data_dir / "profiles" / "s1", data_dir)
    for child in driver.children(recursive=True):
        child.kill()
    # A killed process is a zombie only once the kernel has torn it down (it may still be
    # in disk sleep a moment after the signal).
    deadline = time.monotonic() + 5
    while [child.status() for child in driver.children()] != [psutil.STATUS_ZOMBIE]:
        assert time.monotonic() < deadline, [child.status() for child in driver.children()]
        time.sleep(0.05)

    killed = kill_orphan_browsers(data_dir)

    assert driver.pid in killed
    assert not driver.is_running()
