"""The contact page's editors in a real browser (issue 19): tags as chips typed with Enter or a
comma and removed with their remove button, details as key/value rows with "Add a detail"; what is saved is
what the chips and rows show."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from messaging.models import Contact
from tests.e2e.web import AsgiServer, asgi_server, headless_browser, log_in, page_of, wait
from tests.factories import ContactFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[AsgiServer]:
    with asgi_server(tmp_path_factory.mktemp("daphne")) as process:
        yield process


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[WebDriver]:
    with headless_browser(tmp_path_factory.mktemp("contact-editors")) as driver:
        yield driver


@pytest.fixture
def page(browser, db) -> Iterator[WebDriver]:
    with page_of(browser) as driver:
        yield driver


def chips(driver: WebDriver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=tag-editor] .tag')]"
        ".map((chip) => chip.firstChild.textContent);"
    )


def test_tags_and_details_are_edited_as_chips_and_rows(server, page, alice, workspace_a):
    ContactFactory(workspace=workspace_a, name="Other", tags=["wholesale"])
    contact = ContactFactory(workspace=workspace_a, name="Ana", tags=["old"], metadata={"city": "Recife"})
    log_in(page, server, alice, next_path=f"/contacts/{contact.uuid}/")
    assert chips(page) == ["old"]

    typing = page.find_element(By.CSS_SELECTOR, "[data-testid=tag-editor] input")
    typing.send_keys("  VIP ", Keys.ENTER)
    typing.send_keys("wholesale,")
    wait(page, lambda d: chips(d) == ["old", "vip", "wholesale"], "the typed tags as chips")
    page.find_element(By.CSS_SELECTOR, "[aria-label='Remove old']").click()
    wait(page, lambda d: chips(d) == ["vip", "wholesale"], "the removed chip gone")
    # The workspace's tags are offered as suggestions.
    assert page.execute_script(
        "return [...document.querySelectorAll('#workspace-tags option')].map((o) => o.value);"
    ) == ["old", "wholesale"]

    page.find_element(By.CSS_SELECTOR, "[data-kv-add]").click()
    keys = page.find_elements(By.NAME, "meta_key")
    values = page.find_elements(By.NAME, "meta_value")
    assert [k.get_attribute("value") for k in keys] == ["city", "", "", ""]
    page.find_element(By.CSS_SELECTOR, "[data-kv-remove]").click()  # the city row, emptied
    assert keys[0].get_attribute("value") == "" and values[0].get_attribute("value") == ""
    keys[-1].send_keys("plan")
    values[-1].send_keys("gold")
    page.find_element(By.CSS_SELECTOR, "[data-testid=contact-edit] button[type=submit]").click()

    wait(page, lambda d: "Saved." in d.page_source, "the saved page")
    contact.refresh_from_db()
    assert (contact.tags, contact.metadata) == (["vip", "wholesale"], {"plan": "gold"})
    assert page.find_element(By.CSS_SELECTOR, "[data-testid=contact-tags]").text.split() == [
        "vip",
        "wholesale",
    ]
    assert Contact.objects.filter(workspace=workspace_a, tags__contains=["wholesale"]).count() == 2
