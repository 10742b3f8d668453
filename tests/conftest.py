"""Shared fixtures: two workspaces with their owners, alice (A) and bob (B), used by every
test that needs tenants."""

import pytest
from django.test import Client

from accounts.models import Membership
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory


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
