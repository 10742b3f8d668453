"""The shared inbox in a real browser: headless Chromium (the project's own Browser, local
binaries only) on a real daphne process serving blazz.asgi against the test database and
the Redis channel layer. Messages are stored by the real services in this process (what a
session worker does after harvesting a page), and the open page must follow them over the
websocket without a reload: new conversations and unread counts, new messages in a thread,
delivery ticks. The reply box posts through chat_send and shows the pending message.

Every process started here (daphne, chromedriver, Chromium) is stopped by PID, and no
process of the test's browser may survive it. With BLAZZ_SCREENSHOTS=1 the inbox is saved
to docs/screenshots/inbox.png (off by default, so a test run never writes into the repo)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from messaging.models import Chat, Contact
from messaging.services import (
    chat_acks_apply,
    chat_claim_for_send,
    chat_mark_sent,
    chat_send,
    inbound_messages_ingest,
)
from sessions_app.driver.browser import Browser
from sessions_app.driver.processes import processes_mentioning
from tests.e2e import workers
from tests.e2e.workers import PROJECT_ROOT, browser_processes, wait_until
from tests.factories import WhatsAppSessionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
ANN = "+12015550201"
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "inbox.png"


class AsgiServer:
    """`daphne blazz.asgi:application` against the test database and this run's Redis, on a
    socket this process bound first (no free-port race); stopped by PID."""

    def __init__(self, *, log_path: Path) -> None:
        self.log_path = log_path
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


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[AsgiServer]:
    process = AsgiServer(log_path=tmp_path_factory.mktemp("daphne") / "daphne.log").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Iterator[WebDriver]:
    """One Chromium for the module, started and stopped the way the workers do it
    (sessions_app.driver.browser: explicit binary and chromedriver paths, so Selenium
    Manager never runs; stop kills the whole tree past its deadline)."""
    data_dir = tmp_path_factory.mktemp("browser")
    profile = data_dir / "profile"
    browser = Browser.start(session_id="e2e-inbox", user_data_dir=profile, data_dir=data_dir)
    try:
        browser.driver.set_page_load_timeout(30)
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


@pytest.fixture
def numbers(workspace_a):
    """Two connected numbers of Acme, rows only (no worker: nothing here needs a browser
    on WhatsApp's side)."""
    primary = WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+12015550101", is_primary=True
    )
    second = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+12015550102")
    return primary, second


@pytest.fixture
def page(server, driver, alice, workspace_a) -> WebDriver:
    """Alice logged in through the login form."""
    return log_in(driver, server, alice)


def log_in(driver: WebDriver, server: AsgiServer, user) -> WebDriver:
    driver.delete_all_cookies()
    driver.get(server.url + "/login/?next=/inbox/")
    driver.find_element(By.NAME, "username").send_keys(user.username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, lambda d: d.current_url.endswith("/inbox/"), "the inbox after login")
    return driver


# --- helpers --------------------------------------------------------------------------------


def wait(driver: WebDriver, condition, what: str, timeout: float = 15):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition, f"waiting for {what}")


def open_live(driver: WebDriver, url: str) -> None:
    """Loads `url`, waits until its websocket is subscribed (live.js's indicator says so:
    events published before that would not reach this page) and marks the document, so
    `assert_not_reloaded` can tell an in-place update from a reload."""
    driver.get(url)
    wait(driver, lambda d: live_state(d) == "live", "the live indicator to say live")
    driver.execute_script(
        "window.__blazzSamePage = true; window.__blazzDrops = 0;"
        "BlazzLive.connect().onStatus(function (s) { if (s !== 'live') window.__blazzDrops += 1; });"
    )


def socket_drops(driver: WebDriver) -> int:
    """How often the page's websocket went down since `open_live`."""
    return driver.execute_script("return window.__blazzDrops;")


def live_state(driver: WebDriver) -> str | None:
    return driver.execute_script(
        "var el = document.querySelector('[data-live-status]'); return el && el.getAttribute('data-state');"
    )


def assert_not_reloaded(driver: WebDriver) -> None:
    assert driver.execute_script("return window.__blazzSamePage === true;"), "the page was reloaded"
    # A reconnect re-reads the page: the update must have come by push, not by that.
    assert socket_drops(driver) == 0, "the websocket dropped"


def ingest(session, wam_id: str, body: str, sender: str = ANN) -> None:
    """What a session worker does with a harvested `chat.new_message` page event."""
    stored = inbound_messages_ingest(
        session_pk=session.pk,
        messages=[{"id": wam_id, "from": sender, "body": body, "type": "chat", "timestamp": 1760000000}],
    )
    assert len(stored) == 1


# The page swaps whole regions when it re-reads them, so elements found a moment ago can be
# gone: every read below is one script run, atomic with respect to the page's own updates.


def unread_of(driver: WebDriver, contact: Contact) -> str | None:
    return driver.execute_script(
        "var el = document.querySelector(arguments[0]); return el && el.textContent.trim();",
        f'tr[data-contact="{contact.uuid}"] [data-testid=unread]',
    )


def row_text(driver: WebDriver, contact: Contact) -> str:
    return driver.execute_script(
        "var el = document.querySelector(arguments[0]); return el ? el.textContent : '';",
        f'tr[data-contact="{contact.uuid}"]',
    )


def tick_of(driver: WebDriver, chat: Chat) -> tuple[str, str, str] | None:
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


# --- tests ----------------------------------------------------------------------------------


def test_it_shows_new_messages_and_unread_counts_without_a_reload(page, server, numbers):
    primary, _ = numbers
    open_live(page, server.url + "/inbox/")
    assert "No conversations yet" in page.find_element(By.CSS_SELECTOR, "[data-swap=conversations]").text

    ingest(primary, "wam-in-1", "Hello from Ann")
    ann = Contact.objects.get(phone=ANN)
    wait(page, lambda d: unread_of(d, ann) == "1", "Ann's conversation with 1 unread")
    assert "Hello from Ann" in row_text(page, ann)

    ingest(primary, "wam-in-2", "Are you there?")
    wait(page, lambda d: unread_of(d, ann) == "2", "Ann's unread count to reach 2")
    assert "Are you there?" in row_text(page, ann)
    assert_not_reloaded(page)
    if os.environ.get("BLAZZ_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.save_screenshot(str(SCREENSHOT))

    # Opening the conversation marks it read; a message arriving now joins the open thread.
    open_live(page, f"{server.url}/inbox/{ann.uuid}/")
    assert thread_bodies(page) == ["Hello from Ann", "Are you there?"]
    ingest(primary, "wam-in-3", "Hola 👋 مرحبا")
    wait(page, lambda d: thread_bodies(d)[-1:] == ["Hola 👋 مرحبا"], "the third message in the open thread")
    assert_not_reloaded(page)

    # Back on the list nothing is unread (the open thread re-read, and so marked read, what it
    # showed); the next message counts from 1 again.
    open_live(page, server.url + "/inbox/")
    assert unread_of(page, ann) is None
    ingest(primary, "wam-in-4", "One more")
    wait(page, lambda d: unread_of(d, ann) == "1", "a fresh unread count of 1")
    assert_not_reloaded(page)


def test_it_posts_a_reply_as_a_pending_message_from_the_contacts_last_number(page, server, numbers):
    _, second = numbers
    ingest(second, "wam-in-1", "Hi, it's Ann")  # Ann last talked to the second number
    ann = Contact.objects.get(phone=ANN)
    open_live(page, f"{server.url}/inbox/{ann.uuid}/")
    picker = page.find_element(By.CSS_SELECTOR, "[data-testid=reply] select[name=session]")
    assert "+12015550102 (last used)" in picker.text

    page.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea[name=body]").send_keys("Hello Ann ✓")
    page.find_element(By.CSS_SELECTOR, "[data-testid=reply] button[type=submit]").click()

    # The form posts and comes back to the thread, which shows the reply as pending.
    wait(page, lambda d: "Hello Ann ✓" in thread_bodies(d), "the reply in the thread")
    reply = Chat.objects.get(direction=Chat.Direction.OUTBOUND)
    assert reply.body == "Hello Ann ✓"
    assert reply.status == Chat.Status.PENDING
    assert reply.whatsapp_session_id == second.pk  # the number Ann wrote to, not the primary
    assert reply.idempotency_key and reply.idempotency_key.startswith("inbox:")
    assert tick_of(page, reply)[:2] == ("tick pending", "⏳")


def test_it_moves_the_delivery_tick_live_as_the_message_is_sent_and_acked(page, server, numbers):
    primary, _ = numbers
    ingest(primary, "wam-in-1", "Ping")
    ann = Contact.objects.get(phone=ANN)
    reply, created = chat_send(workspace=primary.workspace, to=ANN, body="Pong")
    assert created and reply.whatsapp_session_id == primary.pk
    open_live(page, f"{server.url}/inbox/{ann.uuid}/")
    assert tick_of(page, reply)[:2] == ("tick pending", "⏳")

    # What the session worker does once WhatsApp took the message, then the acks it harvests.
    claimed = chat_claim_for_send(chat_pk=reply.pk, session_pk=primary.pk)
    assert claimed is not None
    chat_mark_sent(chat=claimed, wam_id="wam-out-1")
    wait(page, lambda d: tick_of(d, reply) == ("tick sent", "✓", "Sent"), "the sent tick")

    assert chat_acks_apply(session_pk=primary.pk, acks=[{"id": "wam-out-1", "ack": 2}]) == 1
    wait(page, lambda d: tick_of(d, reply) == ("tick delivered", "✓✓", "Delivered"), "the delivered ticks")

    assert chat_acks_apply(session_pk=primary.pk, acks=[{"id": "wam-out-1", "ack": 3}]) == 1
    wait(page, lambda d: tick_of(d, reply) == ("tick read", "✓✓", "Read"), "the read (blue) ticks")
    assert_not_reloaded(page)


def test_it_keeps_the_websocket_open_while_the_inbox_is_idle(driver, alice, numbers, tmp_path):
    primary, _ = numbers
    # A server of its own: pages this browser left earlier can keep their sockets open for a
    # while, and the channel layer's error would then hit one of those instead of this one.
    server = AsgiServer(log_path=tmp_path / "daphne.log").start()
    try:
        page = log_in(driver, server, alice)
        open_live(page, server.url + "/inbox/")
        # Two and a half of the channel layer's 5 s blocking reads, watched as they pass.
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and not socket_drops(page):
            time.sleep(0.5)
        assert socket_drops(page) == 0, "the websocket dropped while idle"
        ingest(primary, "wam-in-1", "Still there?")
        ann = Contact.objects.get(phone=ANN)
        wait(page, lambda d: unread_of(d, ann) == "1", "the message after an idle spell")
        assert socket_drops(page) == 0
    finally:
        try:
            driver.get("about:blank")  # closes the page's socket before its server goes
        finally:
            server.stop()
