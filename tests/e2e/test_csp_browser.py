"""The main pages under their Content-Security-Policy in a real browser: headless Chromium (the
project's own Browser) on a real daphne serving blazz.asgi. Every `securitypolicyviolation`
the browser raises is recorded by a listener installed before any page script runs; the
pages must load, open their websocket and render (Swagger UI included) with none.

Every process started here (daphne, chromedriver, Chromium) is stopped by PID."""

from __future__ import annotations

import pytest

from tests.e2e.web import asgi_server, headless_browser, live_state, log_in, page_of, wait
from tests.factories import ContactFactory, ContactSessionFactory, WhatsAppSessionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Installed through the DevTools protocol, which the policy does not govern, so it runs first
# on every document and hears every violation of it.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    with asgi_server(tmp_path_factory.mktemp("daphne")) as process:
        yield process


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    with headless_browser(tmp_path_factory.mktemp("browser")) as browser:
        script = browser.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
        )
        yield browser
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )


@pytest.fixture
def page(server, driver, alice, workspace_a):
    alice.is_staff = alice.is_superuser = True  # the admin is one of the pages
    alice.save(update_fields=["is_staff", "is_superuser"])
    with page_of(driver) as page:
        yield log_in(page, server, alice)


def violations(driver) -> list[str]:
    return driver.execute_script("return window.__cspViolations || null;")


def loaded(driver) -> bool:
    return driver.execute_script("return document.readyState === 'complete';")


def test_the_main_pages_load_without_a_single_policy_violation(page, server, workspace_a):
    number = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+12015550101")
    waiting = WhatsAppSessionFactory(workspace=workspace_a, status="qr_scanning")
    contact = ContactFactory(workspace=workspace_a, name="Ann")
    conversation = ContactSessionFactory(contact=contact, whatsapp_session=number)
    live_pages = [
        "/inbox/",
        "/numbers/",
        f"/numbers/{number.uuid}/",
        f"/numbers/{waiting.uuid}/",
        f"/inbox/{contact.uuid}/",
        f"/inbox/c/{conversation.uuid}/",
        "/campaigns/",
    ]
    other_pages = [
        "/",
        "/contacts/",
        f"/contacts/{contact.uuid}/",
        "/campaigns/new",
        "/health/",
        "/admin/",
        "/admin/auth/user/add/",
    ]
    seen = {}
    for path in live_pages + other_pages:
        page.get(server.url + path)
        wait(page, loaded, f"{path} to load")
        if path in live_pages:
            # The websocket is a connection the policy must allow ('self' covers ws: to this host).
            wait(page, lambda d: live_state(d) == "live", f"{path}'s websocket")
        seen[path] = violations(page)

    page.get(server.url + "/api/docs/")
    # Swagger UI rendered the schema: its bundle, its init script and the schema fetch all ran.
    wait(
        page,
        lambda d: d.execute_script("return !!document.querySelector('.swagger-ui .info .title');"),
        "docs",
    )
    seen["/api/docs/"] = violations(page)

    assert all(found is not None for found in seen.values()), f"the recorder did not run: {seen}"
    assert {path: found for path, found in seen.items() if found} == {}


def test_the_recorder_hears_a_violation(page, server):
    """The check above means something: an inline script added to a page is blocked and heard."""
    page.get(server.url + "/")
    wait(page, loaded, "the dashboard")
    page.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__ran = true;';"
        "document.head.appendChild(s);"
    )
    wait(page, lambda d: violations(d), "a violation to be recorded")
    assert page.execute_script("return window.__ran === undefined;"), "the inline script ran"
    assert any(found.startswith("script-src") for found in violations(page))
