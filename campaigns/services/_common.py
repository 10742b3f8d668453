"""What every campaign write shares: the campaign row lock (the lock order is in the package
docstring) and the live `campaign.progress` push. One copy, so drafts and the lifecycle lock
the same way and report progress the same way."""

from __future__ import annotations

from blazz.realtime import publish_to_workspace
from campaigns import selectors
from campaigns.models import Campaign, CampaignLog

CampaignStatus = Campaign.Status
LogStatus = CampaignLog.Status


def _locked(campaign: Campaign) -> Campaign:
    """The campaign's row, locked against other changes but not against rows that refer to it
    (their foreign-key checks), with its workspace read but not locked."""
    return (
        Campaign.objects.select_for_update(of=("self",), no_key=True)
        .select_related("workspace")
        .get(pk=campaign.pk)
    )


def _publish_progress(campaign: Campaign) -> None:
    progress = selectors.campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
    publish_to_workspace(
        workspace_uuid=campaign.workspace.uuid,
        event="campaign.progress",
        payload=selectors.progress_payload(campaign, progress),
    )
