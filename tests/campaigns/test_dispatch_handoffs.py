"""Audit of the campaigns' hand-offs (issue 16: "if Redis lost this message now, what would
recover it?"). A campaign recipient is a CampaignLog row; dispatch hands it to messaging as a
Chat row (pending) whose send task is only a wake-up. These tests play a broker that lost
the send message: the recipient is still sent, once, or fails visibly at the send deadline;
it is never left `ongoing` for ever. The audit itself is written in campaigns/dispatch.py."""

from __future__ import annotations

import json
import random
import uuid
from base64 import b64decode
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from campaigns import services
from campaigns.dispatch import campaigns_tick
from campaigns.models import CampaignLog
from messaging import services as messaging
from messaging.models import Chat
from sessions_app.routing import route_invalidate
from tests.campaigns.conftest import connected_number, make_contacts
from tests.factories import CampaignFactory, WorkerInstanceFactory, WorkspaceFactory


@pytest.fixture
def worker_queue(db):
    worker = WorkerInstanceFactory(name=f"handoff-{uuid.uuid4().hex[:10]}", capacity=10)
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    yield worker, broker
    broker.delete(worker.queue)


def queued_sends(broker, queue: str) -> list[int]:
    chats = []
    for raw in broker.lrange(queue, 0, -1):
        _, kwargs, _ = json.loads(b64decode(json.loads(raw)["body"]))
        chats.append(kwargs.get("chat_pk"))
    return chats


@pytest.fixture
def one_recipient_on_the_way(settings, worker_queue):
    settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS = 0.001
    settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS = 0.002
    worker, broker = worker_queue
    workspace = WorkspaceFactory(timezone="UTC")
    number = connected_number(workspace)
    number.assigned_worker = worker
    number.save(update_fields=["assigned_worker"])
    route_invalidate(number.pk)
    make_contacts(workspace, 1)
    campaign = CampaignFactory(workspace=workspace, body="Hi", window_start_hour=0, window_end_hour=24)
    now = timezone.now()
    services.campaign_start(campaign=campaign, now=now - timedelta(seconds=1))
    # The tick hands the recipient to messaging; the send task it announces after commit
    # never reaches the worker (these tests never run on_commit callbacks: the broker "lost" it).
    campaigns_tick(now=now + timedelta(seconds=30), rng=random.Random(1))
    log = CampaignLog.objects.get(campaign=campaign)
    assert log.status == "ongoing"
    assert queued_sends(broker, worker.queue) == []
    return log, worker, broker, now


def test_it_sends_a_campaign_recipient_whose_send_message_was_lost(
    one_recipient_on_the_way, django_capture_on_commit_callbacks
):
    log, worker, broker, now = one_recipient_on_the_way
    with django_capture_on_commit_callbacks(execute=True):
        messaging.chats_sweep_pending(now=timezone.now() + timedelta(minutes=2))
    assert queued_sends(broker, worker.queue) == [log.chat_id]

    # The worker takes it (once: a second wake-up finds it claimed) and sends it.
    claimed = messaging.chat_claim_for_send(chat_pk=log.chat_id, session_pk=log.whatsapp_session_id)
    assert messaging.chat_claim_for_send(chat_pk=log.chat_id, session_pk=log.whatsapp_session_id) is None
    messaging.chat_mark_sent(chat=claimed, wam_id="wam-handoff")
    campaigns_tick(now=now + timedelta(seconds=40), rng=random.Random(1))
    log.refresh_from_db()
    assert log.status == "success"
    assert Chat.objects.filter(direction="outbound").count() == 1


def test_it_fails_a_campaign_recipient_that_could_not_go_by_the_send_deadline(
    one_recipient_on_the_way, settings
):
    log, _, _, now = one_recipient_on_the_way
    messaging.chats_sweep_pending(
        now=timezone.now() + timedelta(seconds=settings.BLAZZ_SEND_DEADLINE_SECONDS + 1)
    )
    campaigns_tick(now=now + timedelta(seconds=40), rng=random.Random(1))
    log.refresh_from_db()
    assert log.status == "failed"
    assert "not sent within" in log.error
