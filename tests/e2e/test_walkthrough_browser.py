"""The product as a user walks through it, in a real headless Chromium on a real daphne
process, with a real session worker (Celery, its own Chromium) on the WhatsApp simulator:

1. a workspace admin logs in through the login page;
2. adds a number on the Numbers page and sees its QR code;
3. the phone scans it and the page turns "connected" by itself (websocket, no reload);
4. a customer writes: the conversation appears in the open inbox;
5. the admin replies from the inbox: the worker's browser sends it, the simulator gets it
   exactly once, and the tick turns "delivered" on the open page when the phone acks it;
6. the admin creates and starts a 3-recipient campaign, and its progress bar reaches 100 %
   on the open page.

The dispatch tick runs for real in this process (what the general worker does every second
from Beat), as in test_campaign_flow.py; the pacing gaps are shortened for this server and
this process so the campaign takes seconds. With BLAZZ_SCREENSHOTS=1 every step is saved to
docs/screenshots/<NN>-<step>.png (off by default, so a test run never writes into the repo).
Every process is stopped by PID and no Chromium may survive: the `driver` (tests.e2e.web)
and `start_worker` (conftest) fixtures check that."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from accounts.models import Membership
from campaigns.dispatch import campaigns_tick
from campaigns.models import Campaign
from messaging.models import Chat, Contact
from sessions_app.models import WhatsAppSession, WorkerInstance
from tests.e2e.web import (
    AsgiServer,
    asgi_server,
    assert_not_reloaded,
    fill_login,
    headless_browser,
    page_of,
    row_text,
    screenshot,
    submit_login,
    thread_bodies,
    tick_of,
    unread_of,
    wait,
    watch_live,
)
from tests.e2e.workers import WorkerProcess, wait_until
from tests.factories import ContactFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORKER = "wa_walk"
NUMBER = "+5511987650091"
CUSTOMERS = {"+12015550201": "Ann Lee", "+12015550202": "Ben Ortiz", "+12015550203": "Cleo Park"}
ANN = "+12015550201"
INBOUND = "Hi! Do you have a table for two tonight?"
REPLY = "Yes, we do. See you at 8 ✓"
CAMPAIGN_BODY = "Hi {{name}}, our spring menu is out. Reply STOP to opt out."
# Pacing gaps in seconds (3-7 s in production): short, but long enough for the bar to move
# through intermediate values.
GAP_MIN, GAP_MAX = 0.8, 1.6
# A worker starts Chromium and opens the simulator before a QR exists: generous on 2 cores.
QR_TIMEOUT = 90


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[AsgiServer]:
    """Campaigns are planned where they are started, in the web process: it needs the short
    gaps too."""
    gaps = {"BLAZZ_CAMPAIGN_GAP_MIN_SECONDS": str(GAP_MIN), "BLAZZ_CAMPAIGN_GAP_MAX_SECONDS": str(GAP_MAX)}
    with asgi_server(tmp_path_factory.mktemp("daphne"), extra_env=gaps) as process:
        yield process


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Iterator[WebDriver]:
    with headless_browser(tmp_path_factory.mktemp("browser")) as browser:
        yield browser


@pytest.fixture
def worker(start_worker) -> WorkerProcess:
    return start_worker(WORKER, capacity=2)


@pytest.fixture
def page(driver, transactional_db, worker) -> Iterator[WebDriver]:
    with page_of(driver) as page:
        yield page


@pytest.fixture
def dana(workspace_a):
    """Acme's admin (not its owner): the role that runs numbers and campaigns day to day."""
    user = UserFactory(username="dana@example.com")
    MembershipFactory(user=user, workspace=workspace_a, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def customers(workspace_a) -> dict[str, Contact]:
    return {
        phone: ContactFactory(workspace=workspace_a, phone=phone, name=name)
        for phone, name in CUSTOMERS.items()
    }


# --- page readers (one script run each: the pages swap regions under our feet) ---------------


def run(driver: WebDriver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def qr_on_screen(driver: WebDriver) -> bool:
    """The QR image is shown and has loaded (an SVG from the server, not a broken image)."""
    return run(
        driver,
        "var img = document.querySelector('[data-qr]');"
        "return !!img && !img.hidden && !img.closest('[data-show]').hidden"
        " && img.complete && img.naturalWidth > 0;",
    )


def number_state(driver: WebDriver) -> dict[str, Any]:
    return run(
        driver,
        "var badge = document.querySelector('[data-testid=status]');"
        "var panel = document.querySelector('[data-show=connected]');"
        "var timeline = document.querySelector('[data-swap=timeline]');"
        "return {badge: badge.className, label: badge.textContent.trim(),"
        " connected_panel: !panel.hidden, connected_as: panel.textContent.trim(),"
        " timeline: timeline ? timeline.textContent.replace(/\\s+/g, ' ') : ''};",
    )


def campaign_state(driver: WebDriver) -> dict[str, Any]:
    return run(
        driver,
        "var card = document.querySelector('[data-testid=progress]');"
        "function f(name) {"
        "  return card.querySelector('[data-field=' + name + ']').textContent.trim(); }"
        "var badge = document.querySelector('[data-testid=status]');"
        "var rows = Array.from(document.querySelectorAll('[data-testid=distribution] tbody tr'));"
        "return {bar: card.querySelector('progress').value, percent: f('percent'), sent: f('success'),"
        " failed: f('failed'), total: f('total'), status: badge.textContent.trim(),"
        " distribution: rows.map(function (r) {"
        "   return Array.from(r.cells).map(function (c) { return c.textContent.trim(); }); })};",
    )


def ticking(check: Callable[[WebDriver], Any]) -> Callable[[WebDriver], Any]:
    """`check`, after one dispatch tick (Beat's job, every second, in production)."""

    def condition(driver: WebDriver) -> Any:
        campaigns_tick()
        return check(driver)

    return condition


def click_if_present(driver: WebDriver, selector: str) -> bool:
    try:
        driver.find_element(By.CSS_SELECTOR, selector).click()
    except (StaleElementReferenceException, NoSuchElementException):
        return False
    return True


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def outbox(sim) -> list[dict[str, Any]]:
    return sim.ok("GET", f"/phones/{NUMBER}/outbox")


# --- the walk -------------------------------------------------------------------------------


def test_it_walks_an_admin_from_login_to_a_finished_campaign(
    server, page, sim, worker, settings, dana, workspace_a, customers
):
    settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS = GAP_MIN  # the dispatch tick runs in this process
    settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS = GAP_MAX

    # 1. Log in.
    fill_login(page, server, dana, next_path="/numbers/")
    screenshot(page, "01-login")
    submit_login(page, next_path="/numbers/")
    assert "No numbers yet" in page.find_element(By.CSS_SELECTOR, "[data-swap=numbers-table]").text

    # 2. Add a number: its page opens and shows the QR code the worker's browser displays.
    wait_until(
        lambda: WorkerInstance.objects.filter(name=WORKER, status="alive").exists(),
        timeout=60,
        what="the session worker to register",
        log=worker.log,
    )
    page.find_element(By.CSS_SELECTOR, "[data-testid=add-number]").click()
    wait(
        page,
        lambda d: run(d, "return !!document.querySelector('[data-numbers=detail]');"),
        "the number's page",
    )
    session = WhatsAppSession.objects.get(workspace=workspace_a)
    assert page.current_url.endswith(f"/numbers/{session.uuid}/")
    watch_live(page)
    wait(page, qr_on_screen, "the QR code on the number's page", timeout=QR_TIMEOUT)
    screenshot(page, "02-qr")

    # 3. The phone scans the code on screen; the open page turns connected by itself.
    on_screen = sim.ok("GET", "/qr")
    assert len(on_screen) == 1, on_screen  # the one browser of this number
    sim.ok("POST", "/scan", {"phone": NUMBER, "code": on_screen[0]["code"]})
    wait(
        page,
        lambda d: (
            (state := number_state(d))["connected_panel"]
            and "connected" in state["badge"].split()
            and NUMBER in state["connected_as"]
            and "authenticated → connected" in state["timeline"]
        ),
        "the page to say connected",
        timeout=60,
    )
    assert_not_reloaded(page)
    assert not qr_on_screen(page)  # the old code must not stay scannable
    session.refresh_from_db()
    assert session.status == "connected" and str(session.phone_number) == NUMBER
    screenshot(page, "03-connected")

    # 4. A customer writes to the number: the conversation appears in the open inbox.
    page.find_element(By.LINK_TEXT, "Inbox").click()
    wait(page, lambda d: d.current_url.endswith("/inbox/"), "the inbox")
    watch_live(page)
    ann = customers[ANN]
    assert unread_of(page, ann) is None
    sim.ok("POST", "/messages", {"from": ANN, "to": NUMBER, "body": INBOUND})
    wait(page, lambda d: unread_of(d, ann) == "1", "Ann's conversation with 1 unread", timeout=30)
    assert INBOUND in row_text(page, ann) and "Ann Lee" in row_text(page, ann)
    assert_not_reloaded(page)
    screenshot(page, "04-inbox-live")

    # 5. Reply from the inbox: the worker's browser sends it; the phone's ack moves the tick.
    # The live list may swap its rows between finding the link and clicking it: try again.
    wait(page, lambda d: click_if_present(d, f'li[data-contact="{ann.uuid}"] a'), "Ann's row to be clickable")
    wait(page, lambda d: thread_bodies(d) == [INBOUND], "Ann's conversation")
    page.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea[name=body]").send_keys(REPLY)
    page.find_element(By.CSS_SELECTOR, "[data-testid=reply] button[type=submit]").click()
    wait(page, lambda d: thread_bodies(d) == [INBOUND, REPLY], "the reply in the thread")
    # The form posted and came back: the page to watch from now on. The worker usually sends
    # before this page's websocket is open; live.js catches up when it opens, so the ✓ shows.
    watch_live(page)
    reply = Chat.objects.get(workspace=workspace_a, direction=Chat.Direction.OUTBOUND)
    sent = wait_until(
        lambda: [m for m in outbox(sim) if m["body"] == REPLY],
        timeout=30,
        what="the reply to reach the simulator",
        log=worker.log,
    )
    assert len(sent) == 1 and digits(sent[0]["to"]) == digits(ANN), sent
    wait_until(
        lambda: Chat.objects.get(pk=reply.pk).status == Chat.Status.SENT,
        timeout=30,
        what="the reply to be marked sent",
        log=worker.log,
    )
    wait(page, lambda d: tick_of(d, reply) == ("tick sent", "✓", "Sent"), "the sent tick", timeout=30)
    sim.ok("POST", "/acks", {"id": sent[0]["id"], "ack": 2})
    wait(
        page,
        lambda d: tick_of(d, reply) == ("tick delivered", "✓✓", "Delivered"),
        "the delivered ticks",
        timeout=30,
    )
    assert_not_reloaded(page)
    screenshot(page, "05-reply-delivered")
    assert [m["body"] for m in outbox(sim)] == [REPLY]  # exactly once, and nothing else
    assert Chat.objects.get(pk=reply.pk).status == Chat.Status.DELIVERED

    # 6. A campaign to the three customers, started from the UI; its bar fills on the open page.
    page.find_element(By.LINK_TEXT, "Campaigns").click()
    wait(page, lambda d: d.current_url.endswith("/campaigns/"), "the campaigns page")
    page.find_element(By.CSS_SELECTOR, "[data-testid=new-campaign]").click()
    wait(page, lambda d: d.find_elements(By.NAME, "audience_phones"), "the campaign form")
    page.find_element(By.NAME, "name").send_keys("Spring menu")
    page.find_element(By.NAME, "body").send_keys(CAMPAIGN_BODY)
    page.find_element(By.CSS_SELECTOR, "input[name=audience_kind][value=list]").click()
    page.find_element(By.NAME, "audience_phones").send_keys("\n".join(CUSTOMERS))
    Select(page.find_element(By.NAME, "window_start_hour")).select_by_value("0")
    Select(page.find_element(By.NAME, "window_end_hour")).select_by_value("24")
    page.find_element(By.CSS_SELECTOR, "[data-testid=save]").click()
    wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=start]"), "the draft's Start button")
    campaign = Campaign.objects.get(workspace=workspace_a)
    assert campaign.status == Campaign.Status.DRAFT
    page.find_element(By.CSS_SELECTOR, "[data-testid=start]").click()
    # Start asks first: how many recipients, how long, what they read.
    wait(
        page, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=start-confirmed]"), "the confirmation"
    )
    assert "3 recipients" in page.find_element(By.CSS_SELECTOR, "[data-testid=start-summary]").text
    page.find_element(By.CSS_SELECTOR, "[data-testid=start-confirmed]").click()
    # The POST goes back to the campaign's page: read its progress only once it is there.
    wait(page, lambda d: d.current_url.endswith(f"/campaigns/{campaign.uuid}/"), "the campaign's page")
    wait(page, lambda d: campaign_state(d)["status"] == "Running", "the campaign to run")
    assert campaign_state(page)["bar"] == 0 and campaign_state(page)["total"] == "3"
    watch_live(page)
    # What the page's own websocket hears, to see the bar move through it.
    run(
        page,
        "window.__blazzProgress = [];"
        "BlazzLive.connect().on('campaign.progress', function (event, p) {"
        "  window.__blazzProgress.push(p.percent); });",
    )
    seen: list[dict[str, Any]] = []

    def finished(d: WebDriver) -> bool:
        seen.append(s := campaign_state(d))
        return s["bar"] == 100 and s["percent"] == "100" and s["sent"] == "3"

    wait(page, ticking(finished), "the progress bar to reach 100 %", timeout=60, poll=0.5)
    # The per-number table moves in the same event as the total: never "1 sent" over numbers
    # that all show 0. (A table re-read may briefly run ahead of the last event, never behind.)
    behind = [s for s in seen if int(s["sent"]) > sum(int(r[3]) for r in s["distribution"])]
    assert not behind, behind
    assert any(0 < int(s["sent"]) < 3 for s in seen), seen  # it was watched mid-way, not only at the end
    # Completing the campaign re-reads its per-number table, in place.
    wait(
        page,
        lambda d: (
            (s := campaign_state(d))["status"] == "Completed"
            and [r[2:6] for r in s["distribution"]] == [["3", "3", "0", "0"]]
        ),
        "the completed campaign and its per-number table",
    )
    assert_not_reloaded(page)
    heard = run(page, "return window.__blazzProgress;")
    assert heard == sorted(heard) and heard[-1] == 100, heard
    assert any(0 < p < 100 for p in heard), heard  # the bar moved, not jumped
    screenshot(page, "06-campaign-progress")

    campaign.refresh_from_db()
    assert (campaign.status, campaign.total_count, campaign.sent_count, campaign.failed_count) == (
        Campaign.Status.COMPLETED,
        3,
        3,
        0,
    )
    # What the phone really sent: the reply, then one personalised message per customer.
    got: dict[str, list[str]] = {}
    for message in outbox(sim)[1:]:
        got.setdefault(digits(message["to"]), []).append(message["body"])
    assert got == {
        digits(phone): [CAMPAIGN_BODY.replace("{{name}}", name)] for phone, name in CUSTOMERS.items()
    }
