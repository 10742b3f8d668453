"""No tenant takes every browser slot (issue 16: two fresh sign-ups filled a worker of
capacity 10 in 2.1 s and everyone else got `503 no_capacity`): each workspace holds at most
its fair share of the live fleet, and at most BLAZZ_QUOTA_ACTIVE_NUMBERS numbers."""

from __future__ import annotations

import uuid

import pytest

from sessions_app import services
from sessions_app.models import WhatsAppSession
from tests.conftest import api_client_for, logged_in_client
from tests.factories import WhatsAppSessionFactory, WorkerInstanceFactory
from tests.sessions_app.conftest import forget_routes_of_next_sessions


@pytest.fixture
def roomy_budgets(settings):
    # Only the rule under test may refuse: QR budget and number quota out of the way.
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = 1000
    settings.BLAZZ_QUOTA_ACTIVE_NUMBERS = 1000
    settings.BLAZZ_FAIR_SHARE_FRACTION = 0.5
    settings.BLAZZ_FAIR_SHARE_MIN_SESSIONS = 2


@pytest.fixture
def fleet_of_ten(db, broker):
    from blazz.celery import session_queue_name

    worker = WorkerInstanceFactory(name=f"fair-{uuid.uuid4().hex[:10]}", capacity=10)
    broker.queues.add(session_queue_name(worker.name))
    return worker


def _add_numbers(client, count: int) -> list:
    forget_routes_of_next_sessions(count)
    return [client.post("/api/v1/sessions") for _ in range(count)]


def test_it_stops_the_first_workspace_at_its_share_and_lets_the_second_connect(
    roomy_budgets, fleet_of_ten, alice, bob, workspace_a, workspace_b
):
    alice_api, bob_api = api_client_for(workspace_a, alice), api_client_for(workspace_b, bob)

    # Alice tries to take the whole fleet of 10.
    answers = _add_numbers(alice_api, 10)
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [201] * 5
    assert set(statuses[5:]) == {503}
    refused = answers[5].json()["error"]
    assert refused["code"] == "fair_share"
    assert "fair share of 5" in refused["message"]

    # Bob, who came second, still connects his share.
    assert [a.status_code for a in _add_numbers(bob_api, 5)] == [201] * 5
    assert WhatsAppSession.objects.filter(workspace=workspace_b, deleted_at__isnull=True).count() == 5
    assert WhatsAppSession.objects.filter(workspace=workspace_a, deleted_at__isnull=True).count() == 5


def test_it_lets_a_workspace_connect_at_least_the_floor_on_a_tiny_fleet(
    roomy_budgets, broker, workspace_a, alice
):
    from blazz.celery import session_queue_name

    worker = WorkerInstanceFactory(name=f"tiny-{uuid.uuid4().hex[:10]}", capacity=2)
    broker.queues.add(session_queue_name(worker.name))
    # 0.5 * 2 = 1, but the floor is 2.
    assert [a.status_code for a in _add_numbers(api_client_for(workspace_a, alice), 2)] == [201, 201]


def test_it_refuses_to_start_a_stopped_number_past_the_share(roomy_budgets, fleet_of_ten, workspace_a):
    running = [
        WhatsAppSessionFactory(workspace=workspace_a, status="connected", assigned_worker=fleet_of_ten)
        for _ in range(5)
    ]
    stopped = WhatsAppSessionFactory(workspace=workspace_a, status="stopped")
    with pytest.raises(services.FairShareExceeded):
        services.session_start(session=stopped)
    # A number that already holds its browser restarts freely: nothing new is placed.
    services.session_restart(session=running[0])


def test_it_refuses_a_number_past_the_quota_in_the_api_and_the_ui(settings, fleet_of_ten, alice, workspace_a):
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = 1000
    settings.BLAZZ_QUOTA_ACTIVE_NUMBERS = 2
    api = api_client_for(workspace_a, alice)
    assert [a.status_code for a in _add_numbers(api, 2)] == [201, 201]

    refused = api.post("/api/v1/sessions")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert "at most 2 active numbers" in refused.json()["error"]["message"]

    page = logged_in_client(alice, workspace_a).post("/numbers/add/", follow=True)
    assert "at most 2 active numbers" in page.content.decode()
    assert WhatsAppSession.objects.filter(workspace=workspace_a).count() == 2


def test_it_counts_stopped_and_failed_numbers_out_of_the_quota(settings, fleet_of_ten, workspace_a):
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = 1000
    settings.BLAZZ_QUOTA_ACTIVE_NUMBERS = 1
    WhatsAppSessionFactory(workspace=workspace_a, status="stopped")
    WhatsAppSessionFactory(workspace=workspace_a, status="failed")
    forget_routes_of_next_sessions(1)
    active = services.session_create(workspace=workspace_a)
    stopped = WhatsAppSession.objects.get(workspace=workspace_a, status="stopped")
    with pytest.raises(services.ActiveNumbersQuotaExceeded):
        services.session_start(session=stopped)
    services.session_delete(session=active)
    services.session_start(session=stopped)  # its place is free again


def test_it_shows_the_number_quota_and_the_fair_share_before_the_click(
    roomy_budgets, settings, fleet_of_ten, alice, workspace_a
):
    settings.BLAZZ_QUOTA_ACTIVE_NUMBERS = 10
    WhatsAppSessionFactory(workspace=workspace_a, status="connected", assigned_worker=fleet_of_ten)
    page = logged_in_client(alice, workspace_a).get("/numbers/").content.decode()
    assert "Numbers kept: 1 of 10" in page
    assert "Browsers open: 1 of this workspace's fair share of 5" in page
