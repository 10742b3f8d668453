"""Dispatch with a controlled clock: due logs are handed to messaging once, one per number per
tick, followed to success or failure, moved off numbers that drop; pause, resume and cancel
take effect within a tick; concurrent ticks never send anything twice."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.dispatch import campaigns_tick
from campaigns.models import Campaign, CampaignLog
from messaging import services as messaging
from messaging.models import Chat
from sessions_app.models import WhatsAppSession
from tests.campaigns.conftest import connected_number, make_contacts
from tests.concurrency import run_at_once
from tests.factories import CampaignFactory, WorkspaceFactory


@pytest.fixture(autouse=True)
def quick_pacing(settings):
    # Pacing itself is tested with a fake clock in test_pacing; here gaps are short so the
    # real-time guard (what a number really sent) lets consecutive ticks send.
    settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS = 0.001
    settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS = 0.002
    settings.BLAZZ_CAMPAIGN_PER_MINUTE = 10_000
    settings.BLAZZ_CAMPAIGN_PER_HOUR = 10_000


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def tick(self, seconds: float = 1.0, **kwargs):
        self.now += timedelta(seconds=seconds)
        return campaigns_tick(now=self.now, rng=random.Random(7), **kwargs)


def started_campaign(*, recipients: int = 10, numbers: int = 1, body: str = "Hi {{name}}", **fields):
    workspace = WorkspaceFactory(timezone="UTC")
    sessions = [connected_number(workspace) for _ in range(numbers)]
    make_contacts(workspace, recipients)
    campaign = CampaignFactory(
        workspace=workspace, body=body, window_start_hour=0, window_end_hour=24, **fields
    )
    services.campaign_start(campaign=campaign, now=timezone.now() - timedelta(seconds=1))
    return campaign, sessions


def play_worker(*, fail: str | None = None) -> int:
    """What the session worker does with each pending outbound message: claim, then sent
    (or failed). Returns how many it handled."""
    handled = 0
    for chat in Chat.objects.filter(status="pending", direction="outbound"):
        claimed = messaging.chat_claim_for_send(chat_pk=chat.pk, session_pk=chat.whatsapp_session_id)
        if claimed is None:
            continue
        if fail:
            messaging.chat_mark_failed(chat=claimed, error=fail)
        else:
            messaging.chat_mark_sent(chat=claimed, wam_id=f"wam-{chat.pk}")
        handled += 1
    return handled


def statuses(campaign) -> Counter:
    return Counter(CampaignLog.objects.filter(campaign=campaign).values_list("status", flat=True))


@pytest.mark.django_db
def test_it_sends_each_recipient_once_with_the_body_filled_in_and_completes():
    campaign, (_number,) = started_campaign(recipients=5)
    clock = Clock()

    for _ in range(10):
        clock.tick()
        play_worker()
    clock.tick()

    chats = Chat.objects.filter(workspace=campaign.workspace, direction="outbound")
    assert chats.count() == 5
    assert sorted(chats.values_list("body", flat=True)) == [f"Hi Person {i}" for i in range(5)]
    assert {c.idempotency_key.rsplit(":", 1)[0] for c in chats} == {
        f"campaign-log:{pk}"
        for pk in CampaignLog.objects.filter(campaign=campaign).values_list("pk", flat=True)
    }
    campaign.refresh_from_db()
    assert campaign.status == "completed"
    assert (campaign.total_count, campaign.sent_count, campaign.failed_count) == (5, 5, 0)


@pytest.mark.django_db
def test_it_hands_a_number_at_most_one_message_per_tick():
    campaign, numbers = started_campaign(recipients=12, numbers=3)
    result = Clock().tick()
    assert result.dispatched == 3
    per_number = Counter(
        CampaignLog.objects.filter(campaign=campaign, status="ongoing").values_list(
            "whatsapp_session_id", flat=True
        )
    )
    assert per_number == {n.pk: 1 for n in numbers}


@pytest.mark.django_db
def test_it_waits_for_the_send_window_and_the_numbers_pacing(settings):
    settings.BLAZZ_CAMPAIGN_GAP_MIN_SECONDS = 3
    settings.BLAZZ_CAMPAIGN_GAP_MAX_SECONDS = 7
    campaign, _ = started_campaign(recipients=3)
    clock = Clock()
    first = CampaignLog.objects.filter(campaign=campaign).order_by("scheduled_at").first()
    clock.now = first.scheduled_at
    assert clock.tick(0).dispatched == 1
    # The next one is planned 3-7 s later, and the number really sent just now: nothing yet.
    assert clock.tick(0.5).dispatched == 0
    # Outside the window nothing goes, even when due.
    Campaign.objects.filter(pk=campaign.pk).update(
        window_start_hour=(clock.now.hour + 2) % 24, window_end_hour=(clock.now.hour + 2) % 24 + 1
    )
    result = clock.tick(30)
    assert result.dispatched == 0 and result.blocked == 1


@pytest.mark.django_db
def test_pause_stops_sends_within_one_tick_and_resume_replans_them():
    campaign, _ = started_campaign(recipients=10)
    clock = Clock()
    assert clock.tick().dispatched == 1

    services.campaign_pause(campaign=campaign)
    assert clock.tick().dispatched == 0
    assert clock.tick(3600).dispatched == 0

    services.campaign_resume(campaign=campaign, now=clock.now)
    pending = CampaignLog.objects.filter(campaign=campaign, status="pending")
    assert pending.count() == 9
    assert all(log.scheduled_at >= clock.now for log in pending)  # re-planned, not a backlog burst
    assert clock.tick().dispatched == 1


@pytest.mark.django_db
def test_cancel_leaves_no_pending_logs_and_withdraws_unsent_messages():
    campaign, _ = started_campaign(recipients=10, numbers=2)
    clock = Clock()
    clock.tick()
    play_worker()  # two sent
    clock.tick()  # two more handed to the worker, not yet taken

    services.campaign_cancel(campaign=campaign, now=clock.now)

    counts = statuses(campaign)
    assert counts == {"success": 2, "skipped": 8}
    assert Chat.objects.filter(status="pending").count() == 0
    assert Chat.objects.filter(status="failed", error="campaign cancelled").count() == 2
    assert play_worker() == 0  # the worker finds nothing left to send
    assert clock.tick().dispatched == 0
    campaign.refresh_from_db()
    assert campaign.status == "cancelled" and campaign.skipped_count == 8


@pytest.mark.django_db
def test_a_send_whose_number_dropped_moves_to_another_number():
    campaign, (first, second) = started_campaign(recipients=4, numbers=2)
    clock = Clock()
    clock.tick()  # one message handed to each number
    WhatsAppSession.objects.filter(pk=first.pk).update(status="disconnected")

    result = clock.tick()

    assert result.moved == 1
    assert result.redistributed == 1  # the dropped number's other pending log
    logs = CampaignLog.objects.filter(campaign=campaign)
    assert not logs.filter(status__in=["pending", "ongoing"], whatsapp_session=first).exists()
    moved = logs.get(attempts=1, status="pending")
    assert moved.whatsapp_session_id == second.pk and "disconnected" in moved.error
    # Its first message was withdrawn before any worker took it: it can never go out twice.
    assert (
        Chat.objects.get(whatsapp_session=first, status="failed").error
        == "the number disconnected before sending"
    )
    for _ in range(10):
        clock.tick()
        play_worker()
    assert statuses(campaign) == {"success": 4}
    assert Chat.objects.filter(status="sent").count() == 4


@pytest.mark.django_db
def test_it_fails_a_recipient_after_3_attempts_with_the_reason(settings):
    settings.BLAZZ_CAMPAIGN_MAX_ATTEMPTS = 3
    campaign, _numbers = started_campaign(recipients=1, numbers=4)
    clock = Clock()
    log = CampaignLog.objects.get(campaign=campaign)
    clock.tick()
    for attempt in (1, 2, 3):
        log.refresh_from_db()
        assert (log.status, log.attempts) == ("ongoing", attempt)
        play_worker(fail="page crashed")
        WhatsAppSession.objects.filter(pk=log.whatsapp_session_id).update(status="disconnected")
        clock.tick()  # moves it to another number (or, the third time, gives up)
        if attempt < 3:
            clock.tick()

    log.refresh_from_db()
    assert log.status == "failed" and log.attempts == 3
    assert "page crashed" in log.error and "after 3 attempts" in log.error
    assert Chat.objects.filter(direction="outbound").count() == 3
    assert len(set(Chat.objects.values_list("whatsapp_session_id", flat=True))) == 3


@pytest.mark.django_db
def test_a_refusal_on_a_working_number_fails_at_once():
    campaign, _ = started_campaign(recipients=1, numbers=2)
    clock = Clock()
    clock.tick()
    play_worker(fail="not a WhatsApp user")
    clock.tick()
    log = CampaignLog.objects.get(campaign=campaign)
    assert (log.status, log.attempts, log.error) == ("failed", 1, "not a WhatsApp user")
    campaign.refresh_from_db()
    assert campaign.status == "completed" and campaign.failed_count == 1


@pytest.mark.django_db
def test_it_replans_a_number_far_behind_its_plan():
    campaign, _ = started_campaign(recipients=5)
    clock = Clock()
    CampaignLog.objects.filter(campaign=campaign).update(scheduled_at=clock.now - timedelta(hours=3))
    result = clock.tick()
    assert result.replanned == 5 and result.dispatched == 0
    assert all(at >= clock.now for at in CampaignLog.objects.values_list("scheduled_at", flat=True))


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_send_nothing_twice():
    campaign, _numbers = started_campaign(recipients=30, numbers=3)
    start = timezone.now()

    def fifteen_ticks() -> None:
        for i in range(15):
            campaigns_tick(now=start + timedelta(seconds=i))

    run_at_once(fifteen_ticks, times=4)

    chats = Chat.objects.filter(workspace=campaign.workspace, direction="outbound")
    handed = CampaignLog.objects.filter(campaign=campaign, status="ongoing")
    assert handed.count() == chats.count() > 0
    per_log = Counter(key.rsplit(":", 1)[0] for key in chats.values_list("idempotency_key", flat=True))
    assert set(per_log.values()) == {1}
    per_recipient = Counter(chats.values_list("contact_id", flat=True))
    assert set(per_recipient.values()) == {1}
