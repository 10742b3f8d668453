"""The numbers API: add, list, read, delete, the verbs and the QR code, all scoped to the
API key's workspace, all through the same services as the UI."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession
from tests.factories import SessionSnapshotFactory, WhatsAppSessionFactory
from tests.sessions_app.conftest import fresh_route

pytestmark = pytest.mark.django_db
CODE = "2@" + "A" * 80 + ",b2s=,c2s=,1"


def test_it_adds_a_number_and_answers_201(alice_api, workspace_a, live_worker):
    response = alice_api.post("/api/v1/sessions")

    assert response.status_code == 201
    body = response.json()
    session = WhatsAppSession.objects.get(workspace=workspace_a)
    assert body["uuid"] == str(session.uuid)
    assert body["status"] == "starting"
    assert body["worker"] == live_worker.name
    assert body["phone_number"] is None
    assert set(body) == {
        "uuid",
        "session_id",
        "status",
        "phone_number",
        "display_name",
        "is_primary",
        "worker",
        "qr_expires_at",
        "last_activity_at",
        "last_connected_at",
        "created_at",
    }


def test_it_lists_and_reads_only_live_numbers_of_the_keys_workspace(alice_api, workspace_a, workspace_b):
    mine = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+5511987650141")
    WhatsAppSessionFactory(workspace=workspace_a, deleted_at=timezone.now())
    theirs = WhatsAppSessionFactory(workspace=workspace_b)

    listed = alice_api.get("/api/v1/sessions").json()["results"]
    one = alice_api.get(f"/api/v1/sessions/{mine.uuid}").json()

    assert [s["uuid"] for s in listed] == [str(mine.uuid)]
    assert one["phone_number"] == "+5511987650141"
    assert alice_api.get(f"/api/v1/sessions/{theirs.uuid}").status_code == 404
    assert alice_api.get("/api/v1/sessions", {"status": "qr_scanning"}).json()["results"] == []
    assert alice_api.get("/api/v1/sessions", {"status": "nonsense"}).status_code == 400


def test_it_deletes_a_number_softly_and_stops_listing_it(alice_api, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+5511987650142")
    SessionSnapshotFactory(session=session)

    response = alice_api.delete(f"/api/v1/sessions/{session.uuid}")

    assert response.status_code == 204
    session.refresh_from_db()
    assert session.deleted_at is not None and session.status == "stopped"
    assert not SessionSnapshot.objects.filter(session=session).exists()
    assert alice_api.get("/api/v1/sessions").json()["results"] == []
    assert alice_api.get(f"/api/v1/sessions/{session.uuid}").status_code == 404


def test_it_restarts_and_stops_on_the_numbers_worker_with_202(
    alice_api, workspace_a, live_worker, broker, django_capture_on_commit_callbacks
):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="connected", assigned_worker=live_worker)
    fresh_route(session)

    with django_capture_on_commit_callbacks(execute=True):
        restarted = alice_api.post(f"/api/v1/sessions/{session.uuid}/restart")
        stopped = alice_api.post(f"/api/v1/sessions/{session.uuid}/stop")

    assert (restarted.status_code, stopped.status_code) == (202, 202)
    assert restarted.json()["status"] == "connected"  # the worker has not acted yet
    assert [t.name for t in broker.tasks(live_worker)] == [
        "sessions_app.tasks.session_restart",
        "sessions_app.tasks.session_stop",
    ]


def test_it_starts_a_stopped_number_and_logs_one_out(alice_api, workspace_a, live_worker):
    stopped = WhatsAppSessionFactory(workspace=workspace_a, status="stopped")
    idle = WhatsAppSessionFactory(workspace=workspace_a, status="stopped", phone_number="+5511987650143")
    SessionSnapshotFactory(session=idle)

    started = alice_api.post(f"/api/v1/sessions/{stopped.uuid}/start")
    logged_out = alice_api.post(f"/api/v1/sessions/{idle.uuid}/logout")

    assert started.status_code == 202
    assert started.json()["status"] == "starting"
    assert started.json()["worker"] == live_worker.name
    assert logged_out.status_code == 202
    assert logged_out.json()["status"] == "disconnected"
    assert not SessionSnapshot.objects.filter(session=idle).exists()


def test_it_makes_a_number_primary_with_200(alice_api, workspace_a):
    old = WhatsAppSessionFactory(workspace=workspace_a, status="connected", is_primary=True)
    new = WhatsAppSessionFactory(workspace=workspace_a, status="connected")

    response = alice_api.post(f"/api/v1/sessions/{new.uuid}/primary")

    assert response.status_code == 200
    assert response.json()["is_primary"] is True
    old.refresh_from_db()
    assert old.is_primary is False


def test_it_refreshes_the_qr_as_one_attempt(alice_api, workspace_a, live_worker):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="failed")

    response = alice_api.post(f"/api/v1/sessions/{session.uuid}/refresh-qr")

    assert response.status_code == 202
    assert response.json()["status"] == "starting"
    assert SessionEvent.objects.filter(session=session, kind="qr_attempt").count() == 1


def test_it_gives_the_qr_as_code_svg_and_png(alice_api, workspace_a):
    expires = timezone.now() + timedelta(seconds=20)
    session = WhatsAppSessionFactory(
        workspace=workspace_a, status="qr_scanning", qr_code=CODE, qr_expires_at=expires
    )

    response = alice_api.get(f"/api/v1/sessions/{session.uuid}/qr")

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == CODE
    assert body["expires_at"] == expires.isoformat().replace("+00:00", "Z")
    assert body["svg"].startswith("<svg")
    assert body["png_base64"].startswith("iVBORw0KGgo")


def test_it_says_clearly_when_a_number_shows_no_qr(alice_api, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="connected", qr_code="")

    response = alice_api.get(f"/api/v1/sessions/{session.uuid}/qr")

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "no_qr",
            "message": "This number is not showing a QR (status: connected).",
            "field": None,
        }
    }
