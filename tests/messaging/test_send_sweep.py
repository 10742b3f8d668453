"""A send is a row; the Celery message that announced it is only a wake-up call. Beat's sweep
wakes a send nobody claimed (the broker lost the message: FLUSHALL, a restart without
persistence), releases a claim that made nothing, and fails what is still pending at the
deadline with `message.failed`, so no accepted message stays pending forever."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Chat, WebhookDelivery
from messaging.services import chats_sweep_pending
from messaging.webhooks import webhook_endpoint_create
from tests.factories import ChatFactory, ContactFactory, WhatsAppSessionFactory
from tests.sessions_app.conftest import broker, fresh_route, live_worker  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def number(workspace_a, live_worker):  # noqa: F811
    session = WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+12015550131", assigned_worker=live_worker
    )
    fresh_route(session)
    return session


def pending(number, *, age_s: float, **fields) -> Chat:
    chat = ChatFactory(
        workspace=number.workspace,
        whatsapp_session=number,
        contact=ContactFactory(workspace=number.workspace),
        direction=Chat.Direction.OUTBOUND,
        status=Chat.Status.PENDING,
        **fields,
    )
    Chat.objects.filter(pk=chat.pk).update(created_at=timezone.now() - timedelta(seconds=age_s))
    return chat


def woken(broker, worker):  # noqa: F811
    return [t.kwargs["chat_pk"] for t in broker.tasks(worker) if t.name == "sessions_app.tasks.session_send"]


def test_it_wakes_a_send_whose_message_the_broker_lost(
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    settings.BLAZZ_SEND_SWEEP_AFTER_SECONDS = 60
    lost = pending(number, age_s=120)
    fresh = pending(number, age_s=5)  # its own wake-up may still be on its way

    with django_capture_on_commit_callbacks(execute=True):
        result = chats_sweep_pending()

    assert result.woken == 1
    assert woken(broker, live_worker) == [lost.pk]
    assert Chat.objects.get(pk=fresh.pk).status == Chat.Status.PENDING


def test_it_leaves_a_disconnected_numbers_sends_for_its_next_ready(
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    pending(number, age_s=600)
    number.status = "disconnected"
    number.save(update_fields=["status"])

    with django_capture_on_commit_callbacks(execute=True):
        assert chats_sweep_pending().woken == 0
    assert woken(broker, live_worker) == []


def test_it_releases_a_claim_that_made_nothing_but_not_one_waiting_for_its_ack(number, settings):
    settings.BLAZZ_SEND_CLAIM_STALE_SECONDS = 600
    stale = timezone.now() - timedelta(seconds=900)
    made_nothing = pending(number, age_s=900, send_claimed_at=stale)
    awaiting_ack = pending(number, age_s=900, send_claimed_at=stale, wam_id="true_1@c.us_AB")

    assert chats_sweep_pending().released == 1

    assert Chat.objects.get(pk=made_nothing.pk).send_claimed_at is None
    assert Chat.objects.get(pk=awaiting_ack.pk).send_claimed_at == stale


def test_it_fails_what_is_still_pending_at_the_deadline_with_a_webhook(number, workspace_a, settings):
    settings.BLAZZ_SEND_DEADLINE_SECONDS = 3600
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=["message.failed"])
    late = pending(number, age_s=3700)
    in_time = pending(number, age_s=60)

    assert chats_sweep_pending().failed == 1

    late.refresh_from_db()
    assert late.status == Chat.Status.FAILED and "not sent within 3600 s" in late.error
    assert Chat.objects.get(pk=in_time.pk).status == Chat.Status.PENDING
    assert WebhookDelivery.objects.get(event_type="message.failed").payload["uuid"] == str(late.uuid)
    assert chats_sweep_pending().failed == 0  # once


def test_beat_runs_the_sweep_every_30_seconds():
    from django_celery_beat.models import PeriodicTask

    row = PeriodicTask.objects.select_related("interval").get(name="pending sends sweep")
    assert (row.task, row.interval.every, row.interval.period, row.enabled) == (
        "messaging.tasks.chats_sweep_pending",
        30,
        "seconds",
        True,
    )
