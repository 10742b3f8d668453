"""F2: the Health page shows a workspace's owners and admins their numbers next to the
shared workers and queues; agents may not see it; staff see every workspace."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from sessions_app.models import WhatsAppSession
from tests.conftest import logged_in_client
from tests.factories import MembershipFactory, UserFactory, WhatsAppSessionFactory, WorkerInstanceFactory

pytestmark = pytest.mark.django_db
Status = WhatsAppSession.Status
URL = reverse("health")


def test_it_shows_the_workspaces_figures_and_the_workers(alice_client, workspace_a, workspace_b):
    worker = WorkerInstanceFactory(
        name=f"page-{uuid.uuid4().hex[:6]}",
        metrics={"session_count": 1, "chrome_pss_mb": 250.0, "open_fds": 64},
    )
    mine = WhatsAppSessionFactory(workspace=workspace_a, status=Status.FAILED, session_id="acme-failed")
    WhatsAppSessionFactory(workspace=workspace_b, status=Status.FAILED, session_id="bobco-failed")

    response = alice_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert worker.name in html and "250.0 MiB" in html
    assert str(mine.uuid) in html
    assert reverse("sessions_app:session_detail", kwargs={"session_uuid": mine.uuid}) in html
    assert "bobco-failed" not in html
    assert response.context["report"].stuck_sessions_total == 1


def test_it_is_linked_from_the_navigation_for_managers_only(alice_client, workspace_a):
    agent = UserFactory(username="agent@example.com")
    MembershipFactory(user=agent, workspace=workspace_a, role=Membership.Role.AGENT)

    assert f'href="{URL}"' in alice_client.get(reverse("dashboard")).content.decode()
    agent_home = logged_in_client(agent, workspace_a).get(reverse("dashboard"))
    assert f'href="{URL}"' not in agent_home.content.decode()


def test_it_refuses_agents(workspace_a):
    agent = UserFactory(username="agent@example.com")
    MembershipFactory(user=agent, workspace=workspace_a, role=Membership.Role.AGENT)

    assert logged_in_client(agent, workspace_a).get(URL).status_code == 403


def test_it_sends_anonymous_visitors_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_shows_staff_every_workspace(client, workspace_a, workspace_b):
    staff = UserFactory(username="ops@example.com", is_staff=True)
    WhatsAppSessionFactory(workspace=workspace_a, status=Status.FAILED, session_id="acme-failed")
    WhatsAppSessionFactory(workspace=workspace_b, status=Status.FAILED, session_id="bobco-failed")
    client.force_login(staff)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "acme-failed" in html and "bobco-failed" in html
    assert "Acme" in html and "Bobco" in html
    assert response.context["report"].scope == "all"


def test_it_shows_staff_the_heartbeat_figures_in_the_worker_admin(client):
    client.force_login(UserFactory(username="ops@example.com", is_staff=True, is_superuser=True))
    WorkerInstanceFactory(
        name="admin-fresh",
        metrics={"sessions": [1, 2], "session_count": 2, "chrome_pss_mb": 77.5, "open_fds": 31},
    )
    WorkerInstanceFactory(name="admin-silent", last_heartbeat_at=timezone.now() - timedelta(minutes=2))

    html = client.get(reverse("admin:sessions_app_workerinstance_changelist")).content.decode()

    assert "77.5" in html and "31" in html
    assert "reconciliation will declare it dead" in html  # only the silent one
    assert html.count("reconciliation will declare it dead") == 1
