"""The team inbox in real browsers (issue 19): two headless Chromiums (the owner at desktop
width, an agent at phone width, 390 px), a real daphne, a real session worker with its own
Chromium on the simulator. The agent takes a conversation and the owner's open list shows it
live; a note stays in Blazz (the simulator's phone never receives it); a quick reply with a
variable goes out filled in; a resolved conversation reopens when the customer writes again;
a search by message text finds it; on a phone the list gives way to the thread and back.
Then a teammate is invited by e-mail and joins from the link. BLAZZ_SCREENSHOTS=1 saves
docs/screenshots/team-inbox*.png and invite-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from accounts.models import Membership
from messaging.models import ContactSession, QuickReply
from sessions_app.models import WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.test_webhook_slow_receiver import procfile  # noqa: F401 (a fixture)
from tests.e2e.web import (
    AsgiServer,
    asgi_server,
    headless_browser,
    log_in,
    open_live,
    page_of,
    screenshot,
    size_viewport,
    thread_bodies,
    wait,
)
from tests.e2e.workers import wait_until
from tests.factories import ContactFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NUMBER, CUSTOMER = "+5511987650091", "+14155550191"


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[AsgiServer]:
    with asgi_server(tmp_path_factory.mktemp("daphne")) as process:
        yield process


@pytest.fixture(scope="module")
def desktop(tmp_path_factory) -> Iterator[WebDriver]:
    with headless_browser(tmp_path_factory.mktemp("desktop")) as browser:
        yield browser


@pytest.fixture(scope="module")
def phone(tmp_path_factory) -> Iterator[WebDriver]:
    with headless_browser(tmp_path_factory.mktemp("phone")) as browser:
        size_viewport(browser, 390, 844)
        yield browser


def text_of(driver: WebDriver, css: str) -> str:
    return driver.execute_script(
        "var el = document.querySelector(arguments[0]); return el ? el.textContent : '';", css
    )


def visible(driver: WebDriver, css: str) -> bool:
    return driver.execute_script(
        "var el = document.querySelector(arguments[0]); return !!el && el.offsetParent !== null;", css
    )


def test_two_members_work_one_conversation_live(
    sim, start_worker, server, desktop, phone, alice, workspace_a
):
    worker = start_worker("wa_team")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_team").exists(), what="worker", log=worker.log)
    number = connect(sim, worker, workspace_a, NUMBER)
    ContactFactory(workspace=workspace_a, phone=CUSTOMER, name="Ana")
    QuickReply.objects.create(workspace=workspace_a, shortcut="thanks", body="Thanks {{name}}, we are on it!")
    carol = UserFactory(username="carol@example.com")
    MembershipFactory(user=carol, workspace=workspace_a, role=Membership.Role.AGENT)

    with page_of(desktop) as owner, page_of(phone) as agent:
        log_in(owner, server, alice)
        open_live(owner, server.url + "/inbox/")
        sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, "body": "my parcel never arrived"})
        wait(
            owner,
            lambda d: "my parcel never arrived" in text_of(d, "[data-testid=conversations]"),
            "the new conversation",
        )
        conversation = ContactSession.objects.get(contact__phone=CUSTOMER, whatsapp_session=number)
        screenshot(owner, "team-inbox")

        # The agent, on a phone: the list first; the conversation replaces it.
        log_in(agent, server, carol)
        open_live(agent, server.url + "/inbox/")
        assert visible(agent, ".ti-list") and not visible(agent, ".ti-thread")
        agent.find_element(By.CSS_SELECTOR, f'[data-conversation-row="{conversation.uuid}"] a').click()
        wait(agent, lambda d: thread_bodies(d) == ["my parcel never arrived"], "the thread on the phone")
        assert visible(agent, ".ti-thread") and not visible(agent, ".ti-list")
        assert agent.execute_script("return document.documentElement.scrollWidth") <= 390  # nothing cut off
        screenshot(agent, "team-inbox-phone")

        # The agent takes it; the owner's open list shows who has it, without a reload.
        Select(agent.find_element(By.CSS_SELECTOR, "[data-testid=assignee]")).select_by_value(str(carol.pk))
        wait(
            owner,
            lambda d: "carol@example.com" in text_of(d, f'[data-conversation-row="{conversation.uuid}"]'),
            "the assignee on the owner's list",
        )

        # A note: in the thread for the team, never on the customer's phone.
        agent.find_element(By.CSS_SELECTOR, ".ti-note-box summary").click()
        agent.find_element(By.CSS_SELECTOR, "[data-testid=note] textarea").send_keys("Courier says Tuesday")
        agent.find_element(By.CSS_SELECTOR, "[data-testid=note] button").click()
        wait(
            agent,
            lambda d: "Courier says Tuesday" in text_of(d, "[data-testid=thread]"),
            "the note in the thread",
        )

        # A quick reply: "/thanks" + Enter fills it in for Ana; Enter again sends it.
        box = agent.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea")
        box.send_keys("/thanks")
        wait(agent, lambda d: visible(d, "[data-quick-replies]"), "the quick replies")
        box.send_keys(Keys.ENTER)
        wait(
            agent,
            lambda d: (
                d.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea").get_attribute("value")
                == "Thanks Ana, we are on it!"
            ),
            "the filled-in quick reply",
        )
        agent.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea").send_keys(Keys.ENTER)
        wait_until(
            lambda: (
                [m["body"] for m in sim.ok("GET", f"/phones/{NUMBER}/outbox")]
                == ["Thanks Ana, we are on it!"]
            ),
            timeout=60,
            what="the reply on the customer's phone",
            log=worker.log,
        )
        assert all("Courier" not in m["body"] for m in sim.ok("GET", f"/phones/{NUMBER}/outbox"))

        # Resolved, then the customer writes again: open again, and findable by what they wrote.
        Select(agent.find_element(By.CSS_SELECTOR, ".ti-head select[name=status]")).select_by_value(
            "resolved"
        )
        wait_until(
            lambda: ContactSession.objects.get(pk=conversation.pk).status == "resolved", what="resolved"
        )
        sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, "body": "still nothing on tuesday"})
        wait_until(
            lambda: ContactSession.objects.get(pk=conversation.pk).status == "open",
            timeout=30,
            what="reopened",
        )
        search = owner.find_element(By.CSS_SELECTOR, "[data-testid=inbox-filter] input[name=q]")
        search.send_keys("tuesday" + Keys.ENTER)
        wait(owner, lambda d: "q=tuesday" in d.current_url, "the search")
        assert "still nothing on tuesday" in text_of(owner, "[data-testid=conversations]")
        screenshot(owner, "team-inbox-search")
        # On a desktop the thread opens beside the list, with the note among the messages.
        owner.find_element(By.CSS_SELECTOR, f'[data-conversation-row="{conversation.uuid}"] a').click()
        wait(
            owner,
            lambda d: "Courier says Tuesday" in text_of(d, "[data-testid=thread]"),
            "the thread with its note",
        )
        assert visible(owner, ".ti-list") and visible(owner, ".ti-thread") and visible(owner, ".ti-contact")
        screenshot(owner, "team-inbox-conversation")


def test_a_teammate_is_invited_and_joins_from_the_link(server, desktop, alice, workspace_a):
    with page_of(desktop) as page:
        log_in(page, server, alice, next_path="/")
        # A new workspace: the dashboard's first-run checklist says what to do.
        assert "Getting started: 4 steps left" in text_of(page, "[data-testid=first-run]")
        screenshot(page, "first-run")
        page.find_element(By.CSS_SELECTOR, '[data-step="invite"] a').click()
        wait(page, lambda d: d.current_url.endswith("/team/"), "the Team page")
        page.find_element(By.CSS_SELECTOR, "[data-testid=invite] input[name=email]").send_keys(
            "erin@example.com"
        )
        Select(page.find_element(By.CSS_SELECTOR, "[data-testid=invite] select[name=role]")).select_by_value(
            "agent"
        )
        page.find_element(By.CSS_SELECTOR, "[data-testid=invite] button").click()
        wait(page, lambda d: "Invitation sent to erin@example.com" in d.page_source, "the invitation")
        screenshot(page, "invite-sent")
        # The console e-mail backend (DEBUG, as under `make run`) prints the message in the log.
        link = wait_until(
            lambda: (m := re.findall(r"http://\S+/invitations/\S+/", server.log())) and m[-1],
            what="the invitation e-mail",
        )

        page.delete_all_cookies()
        page.get(link)
        assert "Join Acme" in page.page_source
        page.find_element(By.NAME, "password").send_keys("erin-strong-password-19")
        page.find_element(By.CSS_SELECTOR, "[data-testid=new-account] button").click()
        wait(page, lambda d: d.current_url.rstrip("/") == server.url, "the dashboard")
        screenshot(page, "invite-joined")
        assert (
            Membership.objects.get(workspace=workspace_a, user__username="erin@example.com").role == "agent"
        )


def test_the_pairing_code_appears_live(sim, start_worker, server, desktop, alice, workspace_a):
    """Issue 19: the pairing code did not appear until a reload."""
    from sessions_app import services as sessions
    from sessions_app.models import WhatsAppSession
    from tests.e2e.web import assert_not_reloaded, watch_live

    worker = start_worker("wa_pair")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_pair").exists(), what="worker", log=worker.log)
    session = sessions.session_create(workspace=workspace_a)
    wait_until(
        lambda: WhatsAppSession.objects.get(pk=session.pk).status == "qr_scanning",
        timeout=90,
        what="the QR screen",
        log=worker.log,
    )
    with page_of(desktop) as page:
        log_in(page, server, alice, next_path=f"/numbers/{session.uuid}/")
        page.find_element(By.CSS_SELECTOR, ".link-code summary").click()
        page.find_element(By.CSS_SELECTOR, ".link-code input[name=phone_number]").send_keys("+5511987650092")
        page.find_element(By.CSS_SELECTOR, ".link-code button").click()
        wait(page, lambda d: "Asked WhatsApp for a pairing code" in d.page_source, "the request")
        watch_live(page)
        code = wait_until(
            lambda: WhatsAppSession.objects.get(pk=session.pk).metadata.get("link_code", {}).get("code"),
            timeout=60,
            what="the code from the page",
            log=worker.log,
        )
        wait(page, lambda d: text_of(d, "[data-link-code]").strip() == code, "the code on the open page")
        assert page.execute_script("return document.querySelector('.link-code').open") is True
        assert_not_reloaded(page)


def test_every_main_page_fits_a_phone(server, phone, alice, workspace_a):
    """Issue 19: at 390 px every page was wider than the screen."""
    with page_of(phone) as page:
        log_in(page, server, alice, next_path="/")
        too_wide = {}
        for path in (
            "/",
            "/inbox/",
            "/numbers/",
            "/contacts/",
            "/campaigns/",
            "/campaigns/new",
            "/team/",
            "/workspace/settings/",
            "/api-keys/",
        ):
            page.get(server.url + path)
            width = page.execute_script("return document.documentElement.scrollWidth")
            if width > 390:
                too_wide[path] = width
        assert too_wide == {}


def test_a_thousand_contacts_import_in_the_background_with_three_bad_rows(
    server,
    desktop,
    alice,
    workspace_a,
    procfile,  # noqa: F811 (the imported fixture)
    tmp_path,
):
    from tests.messaging.test_contact_import import thousand_with_three_bad_rows

    procfile("general")  # the real worker of the `default` queue, as the Procfile starts it
    upload = tmp_path / "customers.csv"
    upload.write_bytes(thousand_with_three_bad_rows())
    with page_of(desktop) as page:
        log_in(page, server, alice, next_path="/contacts/")
        page.find_element(By.CSS_SELECTOR, "[data-testid=contact-import]").find_element(
            By.XPATH, ".."
        ).find_element(By.TAG_NAME, "summary").click()
        page.find_element(By.CSS_SELECTOR, "[data-testid=contact-import] input[type=file]").send_keys(
            str(upload)
        )
        page.find_element(By.CSS_SELECTOR, "[data-testid=contact-import] button").click()
        wait(page, lambda d: "/contacts/imports/" in d.current_url, "the import's page")
        wait(
            page,
            lambda d: "Done" in text_of(d, "[data-testid=import-status]"),
            "the import to finish",
            timeout=90,
        )
        assert "1000 of 1000 rows" in text_of(page, "[data-testid=import-status]")
        lines = page.execute_script(
            "var cells = document.querySelectorAll('[data-testid=import-errors] tbody tr td:first-child');"
            "return Array.from(cells)"
            ".map(function (td) { return td.textContent.trim(); });"
        )
        assert sorted(lines) == ["11", "501", "901"]
        screenshot(page, "contact-import")
    assert workspace_a.contacts.count() == 995
