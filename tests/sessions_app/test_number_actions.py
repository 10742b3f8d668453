"""The buttons on a number's page: each POST calls one lifecycle service, then redirects
with a flash message; a refusal is a flash error, never a 500."""

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession
from tests.factories import SessionSnapshotFactory, WhatsAppSessionFactory
from tests.sessions_app.conftest import fresh_route

pytestmark = pytest.mark.django_db


def verb_url(verb: str, session) -> str:
    return reverse(f"sessions_app:session_{verb}", args=[session.uuid])


def detail(session) -> str:
    return reverse("sessions_app:session_detail", args=[session.uuid])


def test_it_restarts_a_running_number_on_its_worker(
    alice_client, workspace_a, live_worker, broker, django_capture_on_commit_callbacks
):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="connected", assigned_worker=live_worker)
    fresh_route(session)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(verb_url("restart", session), follow=True)

    assert response.redirect_chain == [(detail(session), 302)]
    assert "Restarting" in response.content.decode()
    [task] = broker.tasks(live_worker)
    assert task.name == "sessions_app.tasks.session_restart"
    assert task.kwargs == {"session_pk": session.pk, "reason": "requested", "requested": True}


def test_it_asks_the_worker_to_stop_a_running_number(
    alice_client, workspace_a, live_worker, broker, django_capture_on_commit_callbacks
):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="connected", assigned_worker=live_worker)
    fresh_route(session)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(verb_url("stop", session), follow=True)

    assert "Stopping" in response.content.decode()
    assert [t.name for t in broker.tasks(live_worker)] == ["sessions_app.tasks.session_stop"]


def test_it_stops_a_number_without_a_worker_at_once_and_starts_it_again(
    alice_client, workspace_a, live_worker
):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="qr_scanning")

    alice_client.post(verb_url("stop", session))
    session.refresh_from_db()
    assert session.status == "stopped"

    response = alice_client.post(verb_url("start", session), follow=True)
    session.refresh_from_db()
    assert session.status == "starting"
    assert session.assigned_worker == live_worker
    assert "Starting" in response.content.decode()


def test_it_logs_a_number_out_and_drops_its_saved_login(alice_client, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="stopped", phone_number="+5511987650131")
    SessionSnapshotFactory(session=session)

    response = alice_client.post(verb_url("logout", session), follow=True)

    session.refresh_from_db()
    assert session.status == "disconnected"
    assert not SessionSnapshot.objects.filter(session=session).exists()
    assert "Logging +5511987650131 out" in response.content.decode()


def test_it_soft_deletes_a_number_and_stops_listing_it(alice_client, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="disconnected", session_id="wa_to_delete")

    response = alice_client.post(verb_url("delete", session), follow=True)

    session.refresh_from_db()
    assert session.deleted_at is not None and session.status == "stopped"
    assert response.redirect_chain == [(reverse("sessions_app:session_list"), 302)]
    html = response.content.decode()
    assert "Deleted wa_to_delete." in html
    assert f'data-session="{session.uuid}"' not in html
    assert alice_client.get(detail(session)).status_code == 404


def test_it_makes_a_number_primary(alice_client, workspace_a):
    old = WhatsAppSessionFactory(workspace=workspace_a, status="connected", is_primary=True)
    new = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+5511987650132")

    response = alice_client.post(verb_url("primary", new), follow=True)

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_primary, new.is_primary) == (False, True)
    assert "+5511987650132 is now the primary number." in response.content.decode()


def test_it_counts_a_fresh_qr_as_an_attempt(alice_client, workspace_a, live_worker):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="stopped")

    response = alice_client.post(verb_url("refresh_qr", session), follow=True)

    assert response.status_code == 200
    assert SessionEvent.objects.filter(session=session, kind="qr_attempt").count() == 1
    session.refresh_from_db()
    assert session.status == "starting"


def test_it_turns_a_refusal_into_a_flash_error(alice_client, workspace_a):
    # No live worker: starting has nowhere to go.
    session = WhatsAppSessionFactory(workspace=workspace_a, status="stopped")

    response = alice_client.post(verb_url("start", session), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(detail(session), 302)]
    assert '<p class="flash error">No session worker has free capacity' in response.content.decode()
    session.refresh_from_db()
    assert session.status == "stopped"


def test_it_answers_404_for_a_deleted_number(alice_client, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a, deleted_at=timezone.now())

    assert alice_client.post(verb_url("restart", session)).status_code == 404
    assert WhatsAppSession.objects.get(pk=session.pk).events.count() == 0
