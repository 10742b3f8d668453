"""The UI in a real browser, shared by the browser tests: a real daphne process serving
blazz.asgi against the test database and this run's Redis, one headless Chromium started the
way the session workers start theirs (the project's own Browser: local binaries only, no
driver download), and readers for the live pages.

A test module makes its module-scoped `server` and `driver` fixtures from `asgi_server` and
`headless_browser` (a server may carry extra settings in its environment). Every process
started here is stopped by PID, and no process of the test's browser may survive it.

With BLAZZ_SCREENSHOTS=1, `screenshot()` saves the page to docs/screenshots/<name>.png; it is
off by default, so a test run never writes into the repo."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from sessions_app.webjs.driver.browser import Browser
from sessions_app.webjs.driver.processes import processes_mentioning
from tests.e2e import workers
from tests.e2e.workers import PROJECT_ROOT, browser_processes, wait_until

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
SCREENSHOTS_DIR = PROJECT_ROOT / "docs" / "screenshots"
# The page area: readable screenshots, and the desktop layout the product is designed for.
WINDOW_SIZE = (1280, 800)


class AsgiServer:
    """`daphne blazz.asgi:application` against the test database and this run's Redis, on a
    socket this process bound first (no free-port race); stopped by PID. `extra_env` adds
    settings for this server only (say, shorter campaign gaps)."""

    def __init__(self, *, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> AsgiServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        env = {
            **os.environ,
            "DATABASE_URL": workers.test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "REDIS_URL": settings.REDIS_URL,
            "CHANNEL_LAYER_URL": settings.CHANNEL_LAYER_URL,
            # Development mode: whitenoise serves static/ from the finders (no collectstatic).
            "DEBUG": "true",
            **self.extra_env,
        }
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "blazz.asgi:application"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )
        listener.close()  # daphne holds its own copy
        try:
            wait_until(self._answers, timeout=30, what="daphne to answer", log=self.log)
        except BaseException:
            self.stop()
            raise
        return self

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"daphne exited with {self.proc.returncode}\n{self.log()}")
        try:
            with urllib.request.urlopen(self.url + "/login/", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@contextmanager
def asgi_server(log_dir: Path, *, extra_env: dict[str, str] | None = None) -> Iterator[AsgiServer]:
    """A started `AsgiServer` logging to log_dir/daphne.log, stopped on exit. For a module-scoped
    `server` fixture (it needs `django_db_setup`: the test database must exist)."""
    process = AsgiServer(log_path=log_dir / "daphne.log", extra_env=extra_env).start()
    try:
        yield process
    finally:
        process.stop()


@contextmanager
def headless_browser(data_dir: Path) -> Iterator[WebDriver]:
    """One Chromium, started and stopped the way the workers do it
    (sessions_app.webjs.driver.browser: explicit binary and chromedriver paths, so Selenium
    Manager never runs; stop kills the whole tree past its deadline). On exit, no process of
    it may be left. For a module-scoped `driver` fixture."""
    profile = data_dir / "profile"
    browser = Browser.start(session_id="e2e-web", user_data_dir=profile, data_dir=data_dir)
    try:
        browser.driver.set_page_load_timeout(30)
        size_viewport(browser.driver, *WINDOW_SIZE)
        yield browser.driver
    finally:
        ours = set(browser.pids())
        report = browser.stop(deadline_s=10)
        assert not report.leftover_pids, f"browser processes survived stop: {report.leftover_pids}"
        # Other tests on this machine may run their own Chromium: only ours must be gone,
        # which includes any helper that still carries the profile in its environment.
        survivors = ours & browser_processes()
        survivors |= {p.pid for p in processes_mentioning(profile, by_environ=True)}
        assert not survivors, f"browser processes survived the test: {sorted(survivors)}"


def size_viewport(driver: WebDriver, width: int, height: int) -> None:
    """Makes the page area (what a screenshot shows) width x height: the window is bigger by
    whatever the browser's own frame takes, even headless."""
    driver.set_window_size(width, height)
    inner_width, inner_height = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    driver.set_window_size(2 * width - inner_width, 2 * height - inner_height)


# --- pages ----------------------------------------------------------------------------------


@contextmanager
def page_of(driver: WebDriver) -> Iterator[WebDriver]:
    """The browser for one test; on exit it leaves for about:blank. A page left open keeps
    talking to the server (its websocket, region re-reads), and a request the server runs
    while the test's database is flushed can deadlock with the flush's TRUNCATE. For a
    function-scoped `page` fixture that depends on the database, so it ends before the flush."""
    try:
        yield driver
    finally:
        driver.get("about:blank")


def log_in(driver: WebDriver, server: AsgiServer, user, *, next_path: str = "/inbox/") -> WebDriver:
    fill_login(driver, server, user, next_path=next_path)
    submit_login(driver, next_path=next_path)
    return driver


def fill_login(driver: WebDriver, server: AsgiServer, user, *, next_path: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{server.url}/login/?next={next_path}")
    driver.find_element(By.NAME, "username").send_keys(user.username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)


def submit_login(driver: WebDriver, *, next_path: str) -> None:
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # The path, not the URL's end: the login page itself ends with `?next=<next_path>`.
    wait(driver, lambda d: urlsplit(d.current_url).path == next_path, f"{next_path} after login")


def wait(
    driver: WebDriver,
    condition: Callable[[WebDriver], Any],
    what: str,
    timeout: float = 30,  # generous: CI runs this on 2 loaded cores
    poll: float = 0.1,
) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=poll).until(condition, f"waiting for {what}")


def screenshot(driver: WebDriver, name: str) -> None:
    """docs/screenshots/<name>.png, only with BLAZZ_SCREENSHOTS=1."""
    if os.environ.get("BLAZZ_SCREENSHOTS") != "1":
        return
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOTS_DIR / f"{name}.png")), f"could not save {name}.png"


# --- live updates ---------------------------------------------------------------------------


def open_live(driver: WebDriver, url: str) -> None:
    """Loads `url` and `watch_live`s it."""
    driver.get(url)
    watch_live(driver)


def watch_live(driver: WebDriver) -> None:
    """Waits until the page's websocket is subscribed (live.js's indicator says so: events
    published before that would not reach this page) and marks the document, so
    `assert_not_reloaded` can tell an in-place update from a reload."""
    wait(driver, lambda d: live_state(d) == "live", "the live indicator to say live")
    driver.execute_script(
        "window.__blazzSamePage = true; window.__blazzDrops = 0;"
        "BlazzLive.connect().onStatus(function (s) { if (s !== 'live') window.__blazzDrops += 1; });"
    )


def socket_drops(driver: WebDriver) -> int:
    """How often the page's websocket went down since `watch_live`."""
    return driver.execute_script("return window.__blazzDrops;")


def live_state(driver: WebDriver) -> str | None:
    return driver.execute_script(
        "var el = document.querySelector('[data-live-status]'); return el && el.getAttribute('data-state');"
    )


def assert_not_reloaded(driver: WebDriver) -> None:
    assert driver.execute_script("return window.__blazzSamePage === true;"), "the page was reloaded"
    # A reconnect re-reads the page: the update must have come by push, not by that.
    assert socket_drops(driver) == 0, "the websocket dropped"


# --- inbox readers --------------------------------------------------------------------------
# The pages swap whole regions when they re-read them, so elements found a moment ago can be
# gone: every read below is one script run, atomic with respect to the page's own updates.


def unread_of(driver: WebDriver, contact) -> str | None:
    return driver.execute_script(
        "var el = document.querySelector(arguments[0]); return el && el.textContent.trim();",
        f'li[data-contact="{contact.uuid}"] [data-testid=unread]',
    )


def row_text(driver: WebDriver, contact) -> str:
    return driver.execute_script(
        "var el = document.querySelector(arguments[0]); return el ? el.textContent : '';",
        f'li[data-contact="{contact.uuid}"]',
    )


def tick_of(driver: WebDriver, chat) -> tuple[str, str, str] | None:
    """(class, text, title) of the message's delivery tick."""
    found = driver.execute_script(
        "var el = document.querySelector(arguments[0]);"
        "return el && [el.className, el.textContent.trim(), el.title];",
        f'[data-chat="{chat.uuid}"] [data-tick]',
    )
    return tuple(found) if found else None


def thread_bodies(driver: WebDriver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-testid=thread] .msg-body'))"
        ".map(function (el) { return el.textContent; });"
    )
