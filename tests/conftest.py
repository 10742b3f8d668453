"""Shared fixtures: two workspaces with their owners, alice (A) and bob (B), used by every
test that needs tenants; carol, an agent of A; and an API client with a key of A."""

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.services import api_key_create
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory


@pytest.fixture(autouse=True)
def client_login_passes_a_request(monkeypatch):
    """django-axes checks every authenticate() against its lockouts and needs the request for
    it (the login form and the admin pass theirs); Django's test Client.login passes none.
    Tests keep calling client.login(username=..., password=...) as usual, and axes stays on."""
    original = Client.login

    def login(self, **credentials):
        credentials.setdefault("request", RequestFactory().post("/login/"))
        return original(self, **credentials)

    monkeypatch.setattr(Client, "login", login)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob@example.com")


@pytest.fixture
def workspace_a(alice):
    workspace = WorkspaceFactory(name="Acme")
    MembershipFactory(user=alice, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


@pytest.fixture
def workspace_b(bob):
    workspace = WorkspaceFactory(name="Bobco")
    MembershipFactory(user=bob, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


def logged_in_client(user, workspace) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session["workspace_id"] = workspace.id
    session.save()
    return client


@pytest.fixture
def alice_client(alice, workspace_a) -> Client:
    return logged_in_client(alice, workspace_a)


@pytest.fixture
def carol(workspace_a):
    user = UserFactory(username="carol@example.com")
    MembershipFactory(user=user, workspace=workspace_a, role=Membership.Role.AGENT)
    return user


@pytest.fixture
def carol_client(carol, workspace_a):
    return logged_in_client(carol, workspace_a)


def api_client_for(workspace, user) -> APIClient:
    client = APIClient()
    key = api_key_create(workspace=workspace, name="crm", created_by=user)[1]
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def alice_api(alice, workspace_a) -> APIClient:
    return api_client_for(workspace_a, alice)
