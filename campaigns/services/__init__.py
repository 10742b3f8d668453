"""Writes for campaigns: create and edit drafts, start (the launch itself, re-planning and
redistribution are in `campaigns/planning.py`), pause, resume, cancel, delete, and the
counters and live progress the dispatcher (`campaigns/dispatch.py`) refreshes.

Lock order, everywhere: the Campaign row first, then its CampaignLog rows. The dispatcher
holds `FOR SHARE` on the campaigns it sends for, so a pause or cancel (an UPDATE of the
campaign row) waits for a tick in flight and no send starts after it returns.

A package of cohesive parts (the ~500-line rule): `drafts` (create, edit, delete and the
content rules), `audience` (who gets it), `lifecycle` (start, pause, resume, cancel and the
counters), `message` (what a recipient gets), and `_common` (the row lock and progress push
they share). Callers import from here."""

from campaigns.errors import CampaignError as CampaignError  # re-exported: callers catch it here
from campaigns.errors import (
    CampaignInvalid,
    CampaignQuotaExceeded,
    CampaignStateError,
    NoSendingNumber,
    RecipientsImporting,
)
from campaigns.services._common import CampaignStatus, LogStatus
from campaigns.services.audience import (
    MAX_LIST_SIZE,
    audience_clean,
    campaign_check_recipients,
    recipients_import_pending,
)
from campaigns.services.drafts import campaign_create, campaign_delete, campaign_update
from campaigns.services.lifecycle import (
    campaign_cancel,
    campaign_counters_refresh,
    campaign_launch_failed,
    campaign_pause,
    campaign_resume,
    campaign_start,
)
from campaigns.services.message import campaign_media, campaign_test_send

__all__ = [
    "MAX_LIST_SIZE",
    "CampaignError",
    "CampaignInvalid",
    "CampaignQuotaExceeded",
    "CampaignStateError",
    "CampaignStatus",
    "LogStatus",
    "NoSendingNumber",
    "RecipientsImporting",
    "audience_clean",
    "campaign_cancel",
    "campaign_check_recipients",
    "campaign_counters_refresh",
    "campaign_create",
    "campaign_delete",
    "campaign_launch_failed",
    "campaign_media",
    "campaign_pause",
    "campaign_resume",
    "campaign_start",
    "campaign_test_send",
    "campaign_update",
    "recipients_import_pending",
]
