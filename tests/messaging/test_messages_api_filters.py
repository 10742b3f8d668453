"""`GET /api/v1/messages` and `/messages/{uuid}`: the workspace's messages only, newest first,
cursor-paginated, filtered by number, contact, direction and time; bad filters are 400s."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from messaging.models import Chat
from tests.factories import ChatFactory, ContactFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(workspace_a, workspace_b):
    """Two numbers and two contacts of A, messages an hour apart (oldest first), and B's noise."""
    n1 = WhatsAppSessionFactory(workspace=workspace_a, phone_number="+12015550101", status="connected")
    n2 = WhatsAppSessionFactory(workspace=workspace_a, phone_number="+12015550102", status="connected")
    ann = ContactFactory(workspace=workspace_a, name="Ann")
    ben = ContactFactory(workspace=workspace_a, name="Ben")
    base = timezone.now() - timedelta(days=1)
    plan = [
        (n1, ann, "inbound"),
        (n1, ann, "outbound"),
        (n2, ben, "inbound"),
        (n2, ann, "inbound"),
        (n1, ben, "outbound"),
    ]
    chats = []
    for hours, (number, contact, direction) in enumerate(plan):
        chat = ChatFactory(
            workspace=workspace_a,
            whatsapp_session=number,
            contact=contact,
            direction=direction,
            body=f"m{hours}",
        )
        Chat.objects.filter(pk=chat.pk).update(created_at=base + timedelta(hours=hours))
        chats.append(chat)
    ChatFactory(workspace=workspace_b, body="B's secret")
    return {"n1": n1, "n2": n2, "ann": ann, "ben": ben, "base": base, "chats": chats}


def bodies(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["body"] for m in response.json()["results"]]


def listing(api, **params):
    return api.get("/api/v1/messages?" + urlencode(params))


def test_it_lists_the_workspaces_messages_newest_first(alice_api, world):
    assert bodies(listing(alice_api)) == ["m4", "m3", "m2", "m1", "m0"]


def test_it_filters_by_number_contact_direction_and_time(alice_api, world):
    assert bodies(listing(alice_api, session=world["n2"].uuid)) == ["m3", "m2"]
    assert bodies(listing(alice_api, contact=world["ann"].uuid)) == ["m3", "m1", "m0"]
    assert bodies(listing(alice_api, direction="outbound")) == ["m4", "m1"]
    since = (world["base"] + timedelta(hours=2)).isoformat()
    assert bodies(listing(alice_api, since=since)) == ["m4", "m3", "m2"]
    assert bodies(
        listing(alice_api, contact=world["ann"].uuid, direction="inbound", session=world["n1"].uuid)
    ) == ["m0"]


def test_it_matches_nothing_for_another_workspaces_number(alice_api, world, workspace_b):
    foreign = WhatsAppSessionFactory(workspace=workspace_b)
    ChatFactory(workspace=workspace_b, whatsapp_session=foreign)

    assert bodies(listing(alice_api, session=foreign.uuid)) == []


@pytest.mark.parametrize(
    "params",
    [
        {"session": "nope"},
        {"contact": "123"},
        {"direction": "sideways"},
        {"since": "yesterday"},
        {"since": "2024-13-45T99:00:00"},
        {"contact": "\x00"},
    ],
)
def test_it_refuses_invalid_filters(alice_api, world, params):
    response = listing(alice_api, **params)

    assert response.status_code == 400
    assert {problem["field"] for problem in response.json()["error"]["details"]} == set(params)


def test_it_paginates_with_a_cursor(alice_api, world):
    seen = []
    url = "/api/v1/messages?page_size=2"
    while url:
        page = alice_api.get(url).json()
        assert len(page["results"]) <= 2
        seen += [m["body"] for m in page["results"]]
        url = page["next"]

    assert seen == ["m4", "m3", "m2", "m1", "m0"]


def test_it_shows_one_message(alice_api, world):
    chat = world["chats"][0]

    response = alice_api.get(f"/api/v1/messages/{chat.uuid}")

    assert response.status_code == 200
    data = response.json()
    assert data["uuid"] == str(chat.uuid)
    assert data["contact"]["uuid"] == str(world["ann"].uuid)
    assert data["session"]["phone_number"] == "+12015550101"
    assert data["direction"] == "inbound"


def test_it_answers_404_for_unknown_or_foreign_messages(alice_api, world, workspace_b):
    foreign = ChatFactory(workspace=workspace_b)

    assert alice_api.get(f"/api/v1/messages/{foreign.uuid}").status_code == 404
    assert alice_api.get("/api/v1/messages/6f1c3a0e-0000-4000-8000-000000000000").status_code == 404


def test_it_needs_an_api_key(world):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/messages").status_code == 401
