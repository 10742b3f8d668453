import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from accounts.models import Membership, Workspace
from tests.conftest import logged_in_client

pytestmark = pytest.mark.django_db


def test_it_signs_up_an_owner_with_a_workspace(client):
    response = client.post(
        "/signup/",
        {"email": "Carol@Example.com", "password": "a long pass phrase", "workspace_name": "Carol Co"},
    )
    assert response.status_code == 302
    link = re.search(r"/signup/confirm/[^/\s]+/", mail.outbox[-1].body).group(0)
    assert client.post(link, {"password": "a long pass phrase"}).status_code == 302
    user = get_user_model().objects.get(username="carol@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == "owner" and membership.workspace.name == "Carol Co"
    assert client.get("/").status_code == 200


def test_it_refuses_a_second_signup_with_the_same_email(client, alice):
    response = client.post(
        "/signup/", {"email": "ALICE@example.com", "password": "a long pass phrase", "workspace_name": "X"}
    )
    assert response.status_code == 302 and response["Location"] == "/signup/sent/"
    assert not Workspace.objects.filter(name="X").exists()
    assert get_user_model().objects.filter(username__iexact="alice@example.com").count() == 1


def test_it_logs_in_with_email_and_password(client, alice, workspace_a):
    response = client.post(
        "/login/", {"username": "alice@example.com", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert client.get("/").context["current_workspace"] == workspace_a


def test_it_switches_only_to_workspaces_the_user_belongs_to(alice, workspace_a, workspace_b):
    client = logged_in_client(alice, workspace_a)
    assert client.post(f"/workspaces/{workspace_b.uuid}/switch/").status_code == 404
    assert client.get("/").context["current_workspace"] == workspace_a

    second = client.post("/workspaces/new/", {"name": "Alice Labs", "timezone": "Europe/Lisbon"})
    assert second.status_code == 302
    labs = Workspace.objects.get(name="Alice Labs")
    assert client.get("/").context["current_workspace"] == labs
    assert client.post(f"/workspaces/{workspace_a.uuid}/switch/").status_code == 302
    assert client.get("/").context["current_workspace"] == workspace_a


def test_it_forgets_a_workspace_the_user_was_removed_from(alice, workspace_a, workspace_b):
    Membership.objects.create(user=alice, workspace=workspace_b, role="agent")
    client = logged_in_client(alice, workspace_b)
    assert client.get("/").context["current_workspace"] == workspace_b
    Membership.objects.filter(user=alice, workspace=workspace_b).delete()
    assert client.get("/").context["current_workspace"] == workspace_a


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/numbers/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_it_refuses_agents_the_api_key_page(alice, workspace_a):
    from tests.factories import UserFactory

    agent = UserFactory(username="agent@example.com")
    Membership.objects.create(user=agent, workspace=workspace_a, role="agent")
    client = logged_in_client(agent, workspace_a)
    assert client.get("/api-keys/").status_code == 403
    assert client.post("/api-keys/", {"name": "sneaky"}).status_code == 403
    assert client.get("/contacts/").status_code == 200
