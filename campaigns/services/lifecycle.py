"""A campaign's life after its draft: start, a scheduled launch that failed, pause, resume,
cancel, and the counters that complete it. Every status change here takes the campaign row
lock first (the lock order is in the package docstring), so a pause or cancel waits for a
dispatch tick in flight."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from blazz.realtime import publish_to_workspace
from campaigns import selectors
from campaigns.errors import CampaignStateError, NoSendingNumber
from campaigns.models import Campaign, CampaignLog
from campaigns.planning import campaign_launch, campaign_redistribute, campaign_replan, no_number_message
from campaigns.services._common import CampaignStatus, LogStatus, _locked, _publish_progress
from campaigns.services.audience import campaign_check_recipients
from messaging.models import Chat
from messaging.services import chat_claim_for_send, chat_mark_failed

# --- Start and launch -----------------------------------------------------------------------------


def campaign_start(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Starts a draft: checks the recipients (a missing variable is an error now, not a broken
    message later); then, if its start time has come, launches it (running), else it waits as
    `scheduled` and the dispatch tick launches it. Starting a scheduled or running campaign is
    a no-op that returns it."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status in (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING):
            return campaign
        if campaign.status != CampaignStatus.DRAFT:
            raise CampaignStateError(
                f"This campaign is {campaign.status}; "
                + (
                    "resume it instead."
                    if campaign.status == CampaignStatus.PAUSED
                    else "it cannot start again."
                )
            )
        campaign_check_recipients(campaign=campaign)
        if not selectors.sending_numbers(campaign=campaign).exists():
            raise NoSendingNumber(no_number_message(campaign))
        campaign.status = CampaignStatus.SCHEDULED
        campaign.last_error = ""
        campaign.save(update_fields=["status", "last_error", "updated_at"])
        if campaign.scheduled_at is None or campaign.scheduled_at <= now:
            campaign_launch(campaign=campaign, now=now)
        _publish_progress(campaign)
    return campaign


def campaign_launch_failed(*, campaign_pk: int, error: str) -> None:
    """A scheduled start could not happen (no number connected, a recipient without a
    variable): the campaign goes back to draft with the reason, for a person to act on."""
    updated = Campaign.objects.filter(pk=campaign_pk, status=CampaignStatus.SCHEDULED).update(
        status=CampaignStatus.DRAFT, last_error=error[:2000], updated_at=timezone.now()
    )
    if updated:
        _publish_progress(Campaign.objects.select_related("workspace").get(pk=campaign_pk))


# --- Pause, resume, cancel ------------------------------------------------------------------------


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stops new sends from the next dispatch tick on (the campaign row lock waits for a tick
    in flight). Messages already handed to a number's browser still go. Idempotent."""
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.PAUSED:
        return campaign
    if campaign.status != CampaignStatus.RUNNING:
        raise CampaignStateError(f"Only a running campaign can be paused; this one is {campaign.status}.")
    campaign.status = CampaignStatus.PAUSED
    campaign.save(update_fields=["status", "updated_at"])
    _publish_progress(campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Runs a paused campaign again. Its pending sends are re-planned from now (after a pause
    their times are in the past; sending the backlog at once would defeat the pacing), and
    those of numbers that disconnected meanwhile move to connected ones. Idempotent."""
    now = now or timezone.now()
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.RUNNING:
        return campaign
    if campaign.status != CampaignStatus.PAUSED:
        raise CampaignStateError(f"Only a paused campaign can be resumed; this one is {campaign.status}.")
    campaign.status = CampaignStatus.RUNNING
    campaign.save(update_fields=["status", "updated_at"])
    campaign_redistribute(campaign=campaign, now=now)
    campaign_replan(campaign=campaign, now=now)
    _publish_progress(campaign)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Ends the campaign for good: every pending recipient becomes skipped, and a message
    handed to a browser but not yet taken by it is withdrawn (its chat fails as cancelled).
    One already being sent completes. Idempotent."""
    now = now or timezone.now()
    campaign = _locked(campaign)
    if campaign.status == CampaignStatus.CANCELLED:
        return campaign
    if campaign.status == CampaignStatus.COMPLETED:
        raise CampaignStateError("This campaign has completed; there is nothing to cancel.")
    campaign.status = CampaignStatus.CANCELLED
    campaign.completed_at = now
    campaign.save(update_fields=["status", "completed_at", "updated_at"])
    CampaignLog.objects.filter(campaign=campaign, status=LogStatus.PENDING).update(
        status=LogStatus.SKIPPED, error="cancelled", updated_at=now
    )
    ongoing = CampaignLog.objects.select_for_update(of=("self",)).filter(
        campaign=campaign, status=LogStatus.ONGOING, chat__status=Chat.Status.PENDING
    )
    for log in ongoing.select_related("chat"):
        # The same conditional claim a worker makes: whoever wins, the message goes at most once.
        chat = chat_claim_for_send(chat_pk=log.chat_id, session_pk=log.chat.whatsapp_session_id)
        if chat is None:
            continue
        chat_mark_failed(chat=chat, error="campaign cancelled")
        CampaignLog.objects.filter(pk=log.pk).update(
            status=LogStatus.SKIPPED, error="cancelled", updated_at=now
        )
    campaign_counters_refresh(campaign_ids=[campaign.pk])
    return campaign


# --- Counters and live progress -------------------------------------------------------------------


def campaign_counters_refresh(*, campaign_ids: Iterable[int], now: datetime | None = None) -> list[Campaign]:
    """Recomputes the counters of these campaigns from their logs, completes a running one
    with nothing left to send, and publishes `campaign.progress` (after commit)."""
    now = now or timezone.now()
    ids = sorted(set(campaign_ids))
    if not ids:
        return []
    counts = selectors.campaign_counts(campaign_ids=ids)
    campaigns = []
    # In id order: two ticks refreshing the same campaigns take their row locks in one order.
    for campaign in Campaign.objects.filter(pk__in=ids).select_related("workspace").order_by("pk"):
        progress = counts[campaign.pk]
        fields: dict[str, Any] = {
            "total_count": progress.total,
            "sent_count": progress.success,
            "failed_count": progress.failed,
            "skipped_count": progress.skipped,
        }
        Campaign.objects.filter(pk=campaign.pk).update(**fields)
        if campaign.status == CampaignStatus.RUNNING and not progress.pending and not progress.ongoing:
            # Conditional: a pause or cancel that got there first wins.
            if Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.RUNNING).update(
                status=CampaignStatus.COMPLETED, completed_at=now, updated_at=now
            ):
                campaign.status, campaign.completed_at = CampaignStatus.COMPLETED, now
        for name, value in fields.items():
            setattr(campaign, name, value)
        publish_to_workspace(
            workspace_uuid=campaign.workspace.uuid,
            event="campaign.progress",
            payload=selectors.progress_payload(campaign, progress),
        )
        campaigns.append(campaign)
    return campaigns
