"""An open websocket never outlives the access it was opened with, and agents never hear a QR
code. Real processes end to end: a real daphne serving blazz.asgi, a real websocket client
(`websockets`), logins and form posts over real HTTP (httpx), the real Redis channel layer;
the test publishes as the services do, from this process through the same channel layer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from accounts.models import Membership
from accounts.services import membership_add, membership_remove
from blazz.realtime import publish_to_workspace
from sessions_app import services as session_services
from tests.e2e.web import PASSWORD, asgi_server
from tests.factories import MembershipFactory, UserFactory, WhatsAppSessionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# How long a socket may take to close or to deliver a frame. Not a performance bound: a
# generous wait for "it never happens", the failure this module looks for.
WAIT_S = 10.0


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    with asgi_server(tmp_path_factory.mktemp("daphne")) as process:
        yield process


class Browser:
    """One browser session over real HTTP: its cookies, its CSRF token, its socket."""

    def __init__(self, server) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)

    def log_in(self, user) -> Browser:
        token = self._csrf("/login/")
        response = self.http.post(
            "/login/", data={"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302, response.text[:500]
        # As a browser does: the page after login is where the session picks its workspace.
        assert self.http.get(response.headers["location"]).status_code == 200
        return self

    def post(self, path: str) -> httpx.Response:
        return self.http.post(path, headers={"X-CSRFToken": self.http.cookies["csrftoken"]})

    def _csrf(self, path: str) -> str:
        page = self.http.get(path)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    @contextmanager
    def socket(self) -> Iterator[ClientConnection]:
        url = self.server.url.replace("http://", "ws://") + "/ws/events/"
        cookie = f"sessionid={self.http.cookies['sessionid']}"
        with connect(url, additional_headers={"Cookie": cookie, "Origin": self.server.url}) as ws:
            yield ws

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def browsers(server) -> Iterator:
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(server))
        return opened[-1]

    yield open_browser
    for browser in opened:
        browser.close()


def next_frame(ws: ClientConnection, timeout: float = WAIT_S) -> tuple[str, object]:
    """("event", {...}) for a relayed event, ("closed", code) once the server closed the
    socket, ("silent", None) if nothing came within `timeout`."""
    try:
        return "event", json.loads(ws.recv(timeout=timeout))
    except TimeoutError:
        return "silent", None
    except ConnectionClosed:
        return "closed", ws.close_code


def events_until_closed(ws: ClientConnection) -> tuple[list[str], int | None]:
    """Every event name relayed until the server closes the socket, and its close code (None
    if it stayed open for WAIT_S)."""
    seen: list[str] = []
    while True:
        kind, value = next_frame(ws)
        if kind == "event":
            seen.append(value["event"])
        elif kind == "closed":
            return seen, value
        else:
            return seen, None


def publish(workspace, event: str) -> None:
    publish_to_workspace(workspace_uuid=workspace.uuid, event=event, payload={})


def assert_live(workspace, *sockets: ClientConnection) -> None:
    publish(workspace, "probe")
    for ws in sockets:
        assert next_frame(ws) == ("event", {"event": "probe", "payload": {}})


def test_it_closes_the_socket_of_a_member_removed_from_the_workspace(browsers, workspace_a, carol):
    with browsers().log_in(carol).socket() as ws:
        assert_live(workspace_a, ws)

        membership_remove(membership=Membership.objects.get(user=carol, workspace=workspace_a))
        publish(workspace_a, "after.removal")

        assert events_until_closed(ws) == ([], 4403)


def test_it_closes_the_sockets_of_the_logged_out_session_only(browsers, alice, workspace_a):
    leaving, staying = browsers().log_in(alice), browsers().log_in(alice)
    with leaving.socket() as leaving_ws, staying.socket() as staying_ws:
        assert_live(workspace_a, leaving_ws, staying_ws)

        assert leaving.post("/logout/").status_code == 302
        seen, code = events_until_closed(leaving_ws)

        assert (seen, code) == ([], 4401)
        # Another browser of the same user is another session: it stays logged in.
        assert_live(workspace_a, staying_ws)


def test_it_closes_the_socket_when_the_session_switches_workspace(browsers, alice, workspace_a, workspace_b):
    MembershipFactory(user=alice, workspace=workspace_b, role=Membership.Role.AGENT)
    browser = browsers().log_in(alice)
    with browser.socket() as ws:
        assert_live(workspace_a, ws)

        assert browser.post(f"/workspaces/{workspace_b.uuid}/switch/").status_code == 302
        publish(workspace_a, "after.switch")

        assert events_until_closed(ws) == ([], 4409)
    # The new socket follows the session into the workspace it switched to.
    with browser.socket() as ws:
        assert_live(workspace_b, ws)


def test_it_closes_the_socket_on_a_role_change_and_the_agent_then_hears_no_qr(browsers, workspace_a):
    dave = UserFactory(username="dave@example.com")
    MembershipFactory(user=dave, workspace=workspace_a, role=Membership.Role.ADMIN)
    number = WhatsAppSessionFactory(workspace=workspace_a, status="starting")
    browser = browsers().log_in(dave)
    with browser.socket() as ws:
        session_services.session_qr_update(session_pk=number.pk, code="2@admin-sees-this")
        heard = {next_frame(ws)[1]["event"], next_frame(ws)[1]["event"]}
        assert heard == {"session.status", "session.qr"}

        membership_add(workspace=workspace_a, user=dave, role=Membership.Role.AGENT)
        assert events_until_closed(ws) == ([], 4409)

    with browser.socket() as ws:
        session_services.session_qr_update(session_pk=number.pk, code="2@agent-must-not-see")
        publish(workspace_a, "marker")  # after the QR: once it arrives, the QR would have too
        seen = []
        while (frame := next_frame(ws))[0] == "event":
            seen.append(frame[1])
            if frame[1]["event"] == "marker":
                break
    assert [f["event"] for f in seen] == ["marker"]
    assert "agent-must-not-see" not in repr(seen)


@pytest.fixture
def eager_server(django_db_setup, tmp_path):
    with asgi_server(tmp_path, extra_env={"BLAZZ_WS_ACCESS_RECHECK_SECONDS": "0"}) as process:
        yield process


def test_it_rechecks_access_before_relaying_when_no_announcement_came(eager_server, workspace_a, carol):
    browser = Browser(eager_server).log_in(carol)
    try:
        with browser.socket() as ws:
            assert_live(workspace_a, ws)
            # Removed by raw SQL (as a DBA or a data migration would): no model signal, so no
            # announcement. The re-check before relaying is what stands between the socket
            # and the next event.
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM accounts_membership WHERE user_id = %s AND workspace_id = %s",
                    [carol.pk, workspace_a.pk],
                )
            publish(workspace_a, "after.removal")

            assert events_until_closed(ws) == ([], 4403)
    finally:
        browser.close()
