"""The dashboard's first-run checklist (issue 19): a new workspace sees what to do, and each
step ticks itself from the database."""

import pytest
from django.utils import timezone

from accounts.services import api_key_create
from tests.factories import ChatFactory, MembershipFactory, UserFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def steps(client) -> dict[str, bool]:
    page = client.get("/")
    assert page.status_code == 200
    return {step.key: step.done for step in page.context["first_run"]}


def test_a_new_workspace_sees_every_step_and_each_ticks_itself(alice_client, alice, workspace_a):
    assert steps(alice_client) == {"connect": False, "invite": False, "message": False, "api_key": False}
    assert "Getting started: 4 steps left" in alice_client.get("/").content.decode()

    number = WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", last_connected_at=timezone.now()
    )
    MembershipFactory(user=UserFactory(), workspace=workspace_a)
    ChatFactory(workspace=workspace_a, whatsapp_session=number, direction="outbound")
    assert steps(alice_client) == {"connect": True, "invite": True, "message": True, "api_key": False}
    api_key_create(workspace=workspace_a, name="crm", created_by=alice)
    assert "Getting started" not in alice_client.get("/").content.decode()  # all done: it goes away


def test_an_agent_sees_only_what_an_agent_can_do(carol_client):
    assert list(steps(carol_client)) == ["message"]
