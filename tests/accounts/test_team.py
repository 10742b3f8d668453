"""A team without the Django admin (issue 19): owners and admins invite by e-mail (a link
that works once and expires), the invitee joins with an existing account or makes one, roles
change, members are removed; an admin cannot remove or demote an owner, and a workspace keeps
an owner."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership
from tests.conftest import logged_in_client
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def invite(client, email: str, role: str = "agent", django_capture_on_commit_callbacks=None) -> str:
    """Sends an invitation from the Team page; returns the link's path from the e-mail."""
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/team/", {"email": email, "role": role})
    assert answer.status_code == 302, answer.content[:500]
    body = mail.outbox[-1].body
    assert mail.outbox[-1].to == [email.lower()]
    return re.search(r"https?://[^/]+(/invitations/[^/\s]+/)", body).group(1)


def test_a_new_teammate_accepts_with_a_new_account(
    alice_client, workspace_a, django_capture_on_commit_callbacks
):
    link = invite(alice_client, "Dana@Example.com", "admin", django_capture_on_commit_callbacks)
    visitor = Client()
    page = visitor.get(link)
    assert page.status_code == 200 and "Join Acme" in page.content.decode()

    joined = visitor.post(link, {"password": "a-strong-password-19"})
    assert joined.status_code == 302 and joined.url == "/"
    membership = Membership.objects.get(workspace=workspace_a, user__username="dana@example.com")
    assert membership.role == "admin"
    assert visitor.get("/inbox/").status_code == 200  # logged in, acting in Acme
    # The link works once.
    assert Client().get(link).status_code == 404
    assert Client().post(link, {"password": "a-strong-password-19"}).status_code == 404


def test_an_existing_account_logs_in_then_joins(
    alice_client, workspace_a, bob, django_capture_on_commit_callbacks
):
    link = invite(alice_client, "bob@example.com", "agent", django_capture_on_commit_callbacks)
    stranger = Client()
    page = stranger.get(link).content.decode()
    assert "log in" in page and "Choose a password" not in page
    refused = stranger.post(link, {"password": "whatever-password-1"})
    assert (
        refused.status_code == 400 and not Membership.objects.filter(workspace=workspace_a, user=bob).exists()
    )

    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.post(link).status_code == 302
    assert Membership.objects.get(workspace=workspace_a, user=bob).role == "agent"


def test_only_the_invited_address_can_use_the_link(
    alice_client, workspace_a, django_capture_on_commit_callbacks
):
    link = invite(alice_client, "erin@example.com", "agent", django_capture_on_commit_callbacks)
    mallory = UserFactory(username="mallory@example.com")
    client = Client()
    client.force_login(mallory)
    answer = client.post(link)
    assert answer.status_code == 400
    assert not Membership.objects.filter(workspace=workspace_a, user=mallory).exists()


def test_a_new_invitation_replaces_the_old_link_and_revoked_or_expired_links_fail(
    alice_client, workspace_a, django_capture_on_commit_callbacks
):
    first = invite(alice_client, "fay@example.com", "agent", django_capture_on_commit_callbacks)
    second = invite(alice_client, "fay@example.com", "admin", django_capture_on_commit_callbacks)
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200

    pending = Invitation.objects.get(email="fay@example.com", revoked_at__isnull=True)
    assert alice_client.post(f"/team/invitations/{pending.uuid}/revoke/").status_code == 302
    assert Client().get(second).status_code == 404

    third = invite(alice_client, "fay@example.com", "agent", django_capture_on_commit_callbacks)
    Invitation.objects.filter(email="fay@example.com", revoked_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client().get(third).status_code == 404


def test_invitations_refuse_members_and_bad_input(alice_client, carol, workspace_a):
    answer = alice_client.post("/team/", {"email": "carol@example.com", "role": "agent"})
    assert answer.status_code == 200 and "already a member" in answer.content.decode()
    assert alice_client.post("/team/", {"email": "not-an-email", "role": "agent"}).status_code == 200
    assert alice_client.post("/team/", {"email": "x@example.com", "role": "owner"}).status_code == 200
    assert not Invitation.objects.exists()


def test_roles_change_and_members_are_removed(alice_client, workspace_a, carol):
    assert alice_client.post(f"/team/members/{carol.pk}/", {"role": "admin"}).status_code == 302
    assert Membership.objects.get(workspace=workspace_a, user=carol).role == "admin"
    assert alice_client.post(f"/team/members/{carol.pk}/", {"remove": "1"}).status_code == 302
    assert not Membership.objects.filter(workspace=workspace_a, user=carol).exists()


def test_an_admin_cannot_remove_or_demote_an_owner_and_a_workspace_keeps_one(workspace_a, alice):
    admin = UserFactory(username="adam@example.com")
    MembershipFactory(user=admin, workspace=workspace_a, role=Membership.Role.ADMIN)
    admin_client = logged_in_client(admin, workspace_a)
    admin_client.post(f"/team/members/{alice.pk}/", {"remove": "1"})
    admin_client.post(f"/team/members/{alice.pk}/", {"role": "agent"})
    admin_client.post(f"/team/members/{admin.pk}/", {"role": "owner"})
    assert Membership.objects.get(workspace=workspace_a, user=alice).role == "owner"
    assert Membership.objects.get(workspace=workspace_a, user=admin).role == "admin"

    owner = Membership.objects.get(workspace=workspace_a, user=alice)
    with pytest.raises(services.MembershipChangeRefused, match="at least one owner"):
        services.membership_change_role(actor=owner, membership=owner, role="agent")
    with pytest.raises(services.MembershipChangeRefused, match="at least one owner"):
        services.membership_remove_by(actor=owner, membership=owner)


def test_agents_cannot_manage_the_team(carol_client, alice):
    assert carol_client.get("/team/").status_code == 403
    assert carol_client.post(f"/team/members/{alice.pk}/", {"remove": "1"}).status_code == 403
