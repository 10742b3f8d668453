"""F8: a browser stop always finishes within its deadline and leaves no process, no zombie
and no temp dir of the session."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

from sessions_app.webjs.driver.browser import Browser, _tmp_prefix
from sessions_app.webjs.driver.errors import BrowserStartError
from sessions_app.webjs.driver.processes import KILL_GRACE_S, ProcessTable, process_infos

from .support import session_processes

pytestmark = pytest.mark.browser


def _browser_process(browser: Browser) -> psutil.Process:
    """The Chrome browser process (the one without --type=)."""
    for pid in browser.pids():
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
        if proc.name() == "chromium" and not any(arg.startswith("--type=") for arg in cmdline):
            return proc
    raise AssertionError("no browser process")


def test_it_leaves_no_process_after_start_load_stop(start_browser, page_server):
    browser = start_browser()
    browser.driver.get(page_server.url("blank.html"))
    assert browser.driver.title == "blank"
    pids = browser.pids()
    tmp_dir = browser._tmp_dir
    assert len(pids) >= 5  # chromedriver, browser, zygotes, renderer, utilities
    assert browser.is_alive()
    assert browser.pss_bytes() > 50 * 2**20
    # Chrome's org.chromium.Chromium.* dirs live in the session's own TMPDIR, not in /tmp.
    assert os.readlink(browser.user_data_dir / "SingletonSocket").startswith(
        f"{tmp_dir}/org.chromium.Chromium."
    )

    report = browser.stop(10)

    assert not report.forced
    assert report.leftover_pids == []
    assert session_processes(pids, browser.user_data_dir) == []
    assert not tmp_dir.exists()
    assert not any(
        os.path.lexists(browser.user_data_dir / name) for name in ("SingletonLock", "SingletonSocket")
    )
    assert browser.stop(10) is report  # idempotent


def test_it_stops_within_the_deadline_when_the_renderer_hangs(start_browser, page_server):
    browser = start_browser()
    browser.driver.get(page_server.url("hang.html"))
    time.sleep(0.5)  # the page is now spinning in `while (true) {}`
    pids = browser.pids()

    report = browser.stop(5)

    print(f"stop on a hung renderer took {report.duration_s:.3f}s (forced={report.forced})")
    assert report.duration_s < 5 + KILL_GRACE_S
    assert session_processes(pids, browser.user_data_dir) == []


def test_it_kills_the_tree_at_the_deadline_when_quit_hangs(start_browser, page_server):
    browser = start_browser()
    browser.driver.get(page_server.url("blank.html"))
    pids = browser.pids()
    # A frozen browser process: chromedriver's quit waits for it forever.
    _browser_process(browser).send_signal(signal.SIGSTOP)

    report = browser.stop(2)

    print(f"stop with a frozen browser took {report.duration_s:.3f}s, killed {len(report.killed_pids)}")
    assert report.forced
    assert 2 <= report.duration_s < 2 + KILL_GRACE_S
    assert report.leftover_pids == []
    assert session_processes(pids, browser.user_data_dir) == []


def test_it_leaves_nothing_when_chromedriver_was_killed(start_browser, page_server):
    browser = start_browser()
    browser.driver.get(page_server.url("blank.html"))
    pids = browser.pids()
    chromedriver = browser._popens[0]
    os.kill(chromedriver.pid, signal.SIGKILL)
    chromedriver.wait()
    assert browser.is_alive()  # Chrome outlives its driver (reparented to us)

    report = browser.stop(5)

    assert report.forced
    assert session_processes(pids, browser.user_data_dir) == []


@pytest.mark.parametrize("kind", ["selenium", "uc"])
def test_it_leaves_nothing_when_the_start_fails(start_browser, data_dir, kind, tmp_path):
    if kind == "uc":
        pytest.importorskip("undetected_chromedriver", reason="undetected-chromedriver does not import")
    not_a_browser = tmp_path / "not-chromium"
    not_a_browser.write_text("#!/bin/sh\nsleep 30\n")
    not_a_browser.chmod(0o755)

    began = time.monotonic()
    with pytest.raises(BrowserStartError, match="not started within 3s"):
        start_browser(kind=kind, chromium_path=str(not_a_browser), start_timeout_s=3)

    assert time.monotonic() - began < 3 + KILL_GRACE_S

    assert not [p for p in Path("/tmp").iterdir() if p.name.startswith(_tmp_prefix(data_dir))]


def test_one_walk_of_proc_finds_each_browsers_processes_as_walking_each_does(start_browser, page_server):
    # The worker's Chrome metrics find every browser's processes from one ProcessTable
    # (issue 18); it must find the same processes, and no other browser's.
    first, second = start_browser("s1"), start_browser("s2")
    for browser in (first, second):
        browser.driver.get(page_server.url("blank.html"))
    table = ProcessTable()
    from_table = [set(browser.pids(table)) for browser in (first, second)]
    walked = [set(browser.pids()) for browser in (first, second)]
    assert from_table == walked
    assert len(from_table[0]) >= 5 and not from_table[0] & from_table[1]


def test_a_lean_browser_runs_one_renderer_the_pages(start_browser, page_server):
    # Chromium preloads its address bar's popup (a WebUI page) in a renderer of its own, even
    # headless; the lean flags turn it off: one renderer per browser, the page's.
    browser = start_browser()
    browser.driver.get(page_server.url("blank.html"))
    time.sleep(2)  # the popup was preloaded shortly after the first navigation
    targets = browser.driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]
    assert not [t for t in targets if "omnibox" in t.get("url", "")]
    renderers = [pid for pid in browser.pids() if "--type=renderer" in psutil.Process(pid).cmdline()]
    assert len(renderers) == 1


def test_a_process_walk_keeps_its_own_answers_when_another_walk_runs_meanwhile():
    # psutil shares its Process objects between walks (and threads): a walk asking other
    # attributes replaces `proc.info`. The heartbeat's table once failed on it (KeyError).
    walk = process_infos(["ppid", "cmdline"])
    proc, info = next(walk)  # the lowest pid: the rest of the walk still lies ahead
    for _ in psutil.process_iter(["name"]):  # another thread's walk, in between
        pass
    assert "ppid" not in proc.info  # what reading proc.info would have met
    assert set(info) == {"ppid", "cmdline"}
    rest = dict((later.pid, answers) for later, answers in walk)
    assert all(set(answers) == {"ppid", "cmdline"} for answers in rest.values())
    assert rest[os.getpid()]["ppid"] == os.getppid()
