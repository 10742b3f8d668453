"""Liveness (F7): how a page is judged, when a failing session is restarted, and how it is
given up after 3 restarts within the hour: failed, a session.failed webhook event, an email
to the workspace's admins and a banner in the UI. A passing check resets the count."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership
from messaging.models import WebhookDelivery
from sessions_app import services
from sessions_app.models import SessionEvent, WhatsAppSession
from sessions_app.services import LivenessOutcome, LivenessVerdict, liveness_verdict
from tests.conftest import logged_in_client
from tests.factories import (
    MembershipFactory,
    SessionEventFactory,
    SessionSnapshotFactory,
    UserFactory,
    WebhookEndpointFactory,
    WhatsAppSessionFactory,
    WorkerInstanceFactory,
)

NOW_MS = 1_800_000_000_000
HEALTHY_STATE = {
    "now": NOW_MS,
    "heartbeat_at": NOW_MS - 1000,
    "last_event_at": NOW_MS - 3_600_000,
    "authenticated": True,
}
FAILED = LivenessVerdict(ok=False, reason="probe failed: timeout")
PASSED = LivenessVerdict(ok=True, reason="ok", rtt_ms=12)


def test_it_passes_a_quiet_page_that_answers_its_probe():
    verdict = liveness_verdict(state=HEALTHY_STATE, probe={"ok": True, "rtt_ms": 40})
    assert verdict.ok and verdict.rtt_ms == 40
    assert verdict.event_age_s == 3600  # reported, not judged: a quiet number is not a dead one


@pytest.mark.parametrize(
    ("state", "probe", "reason"),
    [
        (None, None, "page did not answer"),
        ({**HEALTHY_STATE, "heartbeat_at": NOW_MS - 120_000}, {"ok": True}, "page heartbeat stale"),
        ({**HEALTHY_STATE, "authenticated": False}, {"ok": True}, "page is not logged in"),
        (HEALTHY_STATE, {"ok": False, "reason": "timeout"}, "probe failed: timeout"),
        (HEALTHY_STATE, None, "probe failed: no answer"),
    ],
)
def test_it_fails_a_page_that_is_hung_logged_out_or_deaf(state, probe, reason):
    verdict = liveness_verdict(state=state, probe=probe)
    assert not verdict.ok and verdict.reason == reason


@pytest.fixture
def connected(db, workspace_a):
    worker = WorkerInstanceFactory()
    return WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+5511987650091", assigned_worker=worker
    )


def test_it_restarts_a_failing_session_three_times_then_gives_up_and_alerts(
    connected, workspace_a, alice, django_capture_on_commit_callbacks
):
    alice.email = "alice@example.com"
    alice.save()
    agent = UserFactory(username="agent@example.com", email="agent@example.com")
    MembershipFactory(user=agent, workspace=workspace_a, role=Membership.Role.AGENT)
    WebhookEndpointFactory(workspace=workspace_a, events=["session.failed"])

    outcomes = [services.session_liveness_record(session_pk=connected.pk, verdict=FAILED) for _ in range(3)]
    assert outcomes == [LivenessOutcome.RESTART] * 3
    assert not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        last = services.session_liveness_record(session_pk=connected.pk, verdict=FAILED)

    assert last == LivenessOutcome.FAILED
    connected.refresh_from_db()
    assert connected.status == "failed"
    assert SessionEvent.objects.filter(session=connected, kind="probe_failure").count() == 4
    delivery = WebhookDelivery.objects.get(endpoint__workspace=workspace_a, event_type="session.failed")
    assert delivery.payload["phone_number"] == "+5511987650091" and "timeout" in delivery.payload["error"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]  # owners and admins only
    page = logged_in_client(alice, workspace_a).get("/")
    assert b"stopped working" in page.content and b"+5511987650091" in page.content


def test_it_forgets_restarts_once_the_session_passes_again(connected):
    for _ in range(3):
        services.session_liveness_record(session_pk=connected.pk, verdict=FAILED)

    assert services.session_liveness_record(session_pk=connected.pk, verdict=PASSED) == LivenessOutcome.OK
    assert (
        services.session_liveness_record(session_pk=connected.pk, verdict=FAILED) == LivenessOutcome.RESTART
    )
    connected.refresh_from_db()
    assert len(connected.metadata["liveness"]["restarts"]) == 1


def test_it_counts_only_restarts_within_the_window(connected):
    old = (timezone.now() - timedelta(hours=2)).isoformat()
    WhatsAppSession.objects.filter(pk=connected.pk).update(metadata={"liveness": {"restarts": [old] * 3}})

    assert (
        services.session_liveness_record(session_pk=connected.pk, verdict=FAILED) == LivenessOutcome.RESTART
    )


def test_it_ignores_a_session_that_is_no_longer_connected(connected):
    WhatsAppSession.objects.filter(pk=connected.pk).update(status="stopped")
    assert (
        services.session_liveness_record(session_pk=connected.pk, verdict=FAILED) == LivenessOutcome.IGNORED
    )


def test_it_judges_a_restore_that_never_came_back(connected, settings):
    WhatsAppSession.objects.filter(pk=connected.pk).update(status="starting")
    SessionSnapshotFactory(session=connected)
    event = SessionEventFactory(session=connected, kind="status_change", detail={"to": "starting"})
    assert services.sessions_stuck_restoring() == []
    SessionEvent.objects.filter(pk=event.pk).update(
        at=timezone.now() - timedelta(seconds=settings.BLAZZ_LIVENESS_START_TIMEOUT_SECONDS + 1)
    )
    connected.assigned_worker.status = "alive"
    connected.assigned_worker.save()

    assert services.sessions_stuck_restoring() == [connected.pk]
    assert services.session_restore_timed_out(session_pk=connected.pk) == LivenessOutcome.RESTART
