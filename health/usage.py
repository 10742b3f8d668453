"""A workspace's usage of its quotas and of its fair share of the fleet (issue 16), for the
dashboard's usage panel and `GET /api/v1/workspace/usage`. Read from the tables at request
time; the limits are the settings each app enforces (accounts/quotas.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max

from accounts import quotas
from accounts.models import Workspace
from accounts.tenancy import scoped
from campaigns.models import Campaign
from messaging.models import Contact, WebhookEndpoint
from sessions_app.services.placement import workspace_active_numbers, workspace_fair_share

FAIR_SHARE = "browsers"
_OPEN_CAMPAIGN = (
    Campaign.Status.DRAFT,
    Campaign.Status.SCHEDULED,
    Campaign.Status.RUNNING,
    Campaign.Status.PAUSED,
)


@dataclass(frozen=True)
class WorkspaceUsage:
    items: list[quotas.Usage]
    fleet_capacity: int
    fair_share_fraction: float


def workspace_usage(*, workspace: Workspace) -> WorkspaceUsage:
    fair = workspace_fair_share(workspace_id=workspace.pk)
    largest_campaign = (
        scoped(Campaign, workspace)
        .filter(status__in=_OPEN_CAMPAIGN)
        .aggregate(most=Max("total_count"))["most"]
    )
    items = [
        quotas.Usage(
            name=quotas.ACTIVE_NUMBERS,
            used=workspace_active_numbers(workspace_id=workspace.pk),
            limit=quotas.quota_limit(quotas.ACTIVE_NUMBERS),
            description="Numbers kept (not deleted, stopped or failed).",
        ),
        quotas.Usage(
            name=FAIR_SHARE,
            used=fair.held,
            limit=fair.share,
            description=f"Browsers open now, of this workspace's fair share of the {fair.capacity} "
            "the session workers have for every workspace.",
        ),
        quotas.Usage(
            name=quotas.CONTACTS,
            used=scoped(Contact, workspace).count(),
            limit=quotas.quota_limit(quotas.CONTACTS),
            description="Contacts (new customers who write in are always kept, even past the limit).",
        ),
        quotas.Usage(
            name=quotas.WEBHOOK_ENDPOINTS,
            used=scoped(WebhookEndpoint, workspace).count(),
            limit=quotas.quota_limit(quotas.WEBHOOK_ENDPOINTS),
            description="Webhook endpoints.",
        ),
        quotas.Usage(
            name=quotas.CAMPAIGN_RECIPIENTS,
            used=largest_campaign or 0,
            limit=quotas.quota_limit(quotas.CAMPAIGN_RECIPIENTS),
            description="Recipients of one campaign (used: the largest campaign not yet finished).",
        ),
    ]
    return WorkspaceUsage(
        items=items, fleet_capacity=fair.capacity, fair_share_fraction=settings.BLAZZ_FAIR_SHARE_FRACTION
    )
