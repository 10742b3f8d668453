"""Staff operate sessions from the admin with the same services as the UI and API:
restart, stop, reassign to the least-loaded other live worker; the worker list shows
each worker's load and the metrics its heartbeat reports."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import SessionEvent
from tests.factories import UserFactory, WhatsAppSessionFactory, WorkerInstanceFactory
from tests.sessions_app.conftest import fresh_route

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:sessions_app_whatsappsession_changelist")


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="staff@example.com", is_staff=True, is_superuser=True))
    return client


def run_action(client, action: str, sessions):
    return client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [s.pk for s in sessions]},
        follow=True,
    )


def test_it_restarts_sessions_on_their_workers(
    staff_client, live_worker, broker, django_capture_on_commit_callbacks
):
    session = WhatsAppSessionFactory(status="connected", assigned_worker=live_worker, session_id="wa_adm_1")
    fresh_route(session)

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, "restart_sessions", [session])

    assert "Restart requested: wa_adm_1." in response.content.decode()
    assert [t.name for t in broker.tasks(live_worker)] == ["sessions_app.tasks.session_restart"]


def test_it_stops_sessions_and_reports_the_refused_ones(staff_client):
    running = WhatsAppSessionFactory(status="qr_scanning", session_id="wa_adm_2")
    deleted = WhatsAppSessionFactory(status="stopped", session_id="wa_adm_3", deleted_at=timezone.now())

    html = run_action(staff_client, "stop_sessions", [running, deleted]).content.decode()

    running.refresh_from_db()
    assert running.status == "stopped"
    assert "Stop requested: wa_adm_2." in html
    assert "Stop requested refused for wa_adm_3: This number was deleted." in html


def test_it_reassigns_to_the_least_loaded_other_worker_and_restarts_there(
    staff_client, live_worker, broker, django_capture_on_commit_callbacks
):
    old = WorkerInstanceFactory(name=f"{live_worker.name}-old")
    broker.queues.add(f"wa.{old.name}")
    busy = WorkerInstanceFactory(name=f"{live_worker.name}-busy", capacity=1)
    WhatsAppSessionFactory(status="connected", assigned_worker=busy)
    session = WhatsAppSessionFactory(status="connected", assigned_worker=old, session_id="wa_adm_4")
    fresh_route(session)

    with django_capture_on_commit_callbacks(execute=True):
        html = run_action(staff_client, "reassign_sessions", [session]).content.decode()

    session.refresh_from_db()
    assert session.assigned_worker == live_worker
    assert f"Reassigned: wa_adm_4 (to {live_worker.name}, restarting there)." in html
    assert [(t.name, t.kwargs["reason"]) for t in broker.tasks(live_worker)] == [
        ("sessions_app.tasks.session_restart", "reassigned")
    ]
    assert broker.tasks(old) == []
    assert SessionEvent.objects.filter(session=session, kind="assignment").exists()


def test_it_moves_a_stopped_session_without_starting_it(staff_client, live_worker, broker):
    old = WorkerInstanceFactory(name=f"{live_worker.name}-old2")
    session = WhatsAppSessionFactory(status="stopped", assigned_worker=old, session_id="wa_adm_5")

    html = run_action(staff_client, "reassign_sessions", [session]).content.decode()

    session.refresh_from_db()
    assert (session.assigned_worker, session.status) == (live_worker, "stopped")
    assert f"Reassigned: wa_adm_5 (to {live_worker.name})." in html


def test_it_reports_when_no_other_worker_can_take_the_session(staff_client, live_worker):
    session = WhatsAppSessionFactory(status="connected", assigned_worker=live_worker, session_id="wa_adm_6")

    html = run_action(staff_client, "reassign_sessions", [session]).content.decode()

    session.refresh_from_db()
    assert session.assigned_worker == live_worker
    assert "Reassigned refused for wa_adm_6: No session worker has free capacity" in html


def test_it_lists_workers_with_their_load_and_metrics(staff_client):
    worker = WorkerInstanceFactory(
        name="wa-metrics", metrics={"sessions": [1, 2, 3], "chrome_pss_mb": 812.5, "open_fds": 431}
    )
    WhatsAppSessionFactory(assigned_worker=worker, status="connected")
    WhatsAppSessionFactory(assigned_worker=worker, status="stopped")
    WhatsAppSessionFactory(assigned_worker=worker, deleted_at=timezone.now())
    WorkerInstanceFactory(name="wa-silent", metrics={})

    response = staff_client.get(reverse("admin:sessions_app_workerinstance_changelist"))

    assert response.status_code == 200
    html = response.content.decode()
    [metrics_row] = [row for row in html.split("<tr") if ">wa-metrics</a>" in row]
    [silent_row] = [row for row in html.split("<tr") if ">wa-silent</a>" in row]
    # Two live sessions assigned (the deleted one does not count); three hosted, as reported.
    for cell in ('field-assigned_sessions">2<', 'field-hosted_sessions">3<', ">812.5<", ">431<"):
        assert cell in metrics_row, cell
    assert 'field-chrome_pss_mb">—<' in silent_row


def test_staff_cannot_edit_what_a_service_owns(staff_client):
    session = WhatsAppSessionFactory(status="connected", phone_number="+5511987650103")
    change = reverse("admin:sessions_app_whatsappsession_change", args=[session.pk])

    form = staff_client.get(change).content.decode()
    staff_client.post(change, {"status": "stopped", "is_primary": "on", "phone_number": "+14155550101"})

    for field in ("status", "assigned_worker", "is_primary", "deleted_at", "phone_number"):
        assert f'name="{field}"' not in form, field
    session.refresh_from_db()
    assert (session.status, session.is_primary, str(session.phone_number)) == (
        "connected",
        False,
        "+5511987650103",
    )
