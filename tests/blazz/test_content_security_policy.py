"""Every page carries a strict Content-Security-Policy, and the pages need nothing it forbids:
no inline script or style in the templates, Swagger UI from this project instead of a CDN.
(A real Chromium loading the main pages without a single violation: tests/e2e/test_csp_browser.py.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.accounts.test_tenant_isolation import OBJECT_FOR_KWARG, iter_routes
from tests.conftest import logged_in_client

pytestmark = pytest.mark.django_db

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']} ({response.status_code}) has no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_strict(response) -> None:
    policy = policy_of(response)
    assert policy["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert policy[directive] == ["'self'"], f"{directive}: {policy[directive]}"
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.fixture
def owner_client(alice, workspace_a):
    alice.is_staff = alice.is_superuser = True  # the admin is a page too
    alice.save(update_fields=["is_staff", "is_superuser"])
    return logged_in_client(alice, workspace_a)


def test_it_sends_the_policy_on_every_page_of_the_ui(owner_client, alice, workspace_a):
    visited = []
    for route in iter_routes():
        kwargs = {name: OBJECT_FOR_KWARG[name](workspace_a, alice) for name in route.kwargs}
        path = reverse(route.name, kwargs=kwargs)
        if path.startswith("/api/v1/") or route.name in ("accounts:logout", "metrics"):
            continue  # the API answers JSON (checked below); logging out would end the walk
        response = owner_client.get(path)
        assert_strict(response)
        visited.append(path)
    assert len(visited) > 20, visited


def test_it_sends_the_policy_on_the_admin_and_the_anonymous_pages(owner_client, client):
    for path in ("/admin/", "/admin/accounts/workspace/", "/admin/auth/user/add/"):
        response = owner_client.get(path)
        assert response.status_code == 200, path
        assert_strict(response)
    for path in ("/login/", "/signup/", "/no-such-page/", "/api/v1/messages", "/api/docs/"):
        assert_strict(client.get(path))


def test_it_lets_the_pages_open_websockets_to_their_own_host():
    # CSP Level 3: 'self' matches ws:/wss: to the page's own host; no other host is allowed.
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["connect-src"] == ["'self'"]


class _Elements(HTMLParser):
    """Inline scripts, <style> elements, style= and on…= attributes, and every URL attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=…>")
            if name in ("src", "href", "action") and value:
                self.urls.append(value)


def parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    "template", sorted(str(p.relative_to(TEMPLATES_DIR)) for p in TEMPLATES_DIR.rglob("*.html"))
)
def test_no_template_has_inline_script_or_style(template):
    source = (TEMPLATES_DIR / template).read_text()
    # Template tags are not HTML: blank them so the parser sees only the markup.
    markup = re.sub(r"{% comment %}.*?{% endcomment %}", "", source, flags=re.S)
    found = parse(re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", "x", markup, flags=re.S)).inline
    assert not found, f"{template}: {found} (the policy blocks them; use static/ files)"


def test_the_api_docs_load_nothing_from_another_host(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    elements = parse(page.content.decode())
    assert not elements.inline, elements.inline
    assert elements.urls, "the docs page references its Swagger UI files"
    for url in elements.urls:
        assert not urlsplit(url).netloc, f"/api/docs/ loads {url} from another host"
        if url.startswith(settings.STATIC_URL) or url.startswith("/" + settings.STATIC_URL):
            name = urlsplit(url).path.split(settings.STATIC_URL, 1)[1]
            assert finders.find(name), f"{url} is not a static file of this project"
    init_script = client.get("/api/docs/?script=")
    assert init_script.status_code == 200
    assert init_script["Content-Type"].startswith("application/javascript")
    assert not re.search(rb"https?://", init_script.content), "the init script names another host"
