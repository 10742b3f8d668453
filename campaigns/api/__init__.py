"""The campaigns API (`/api/v1/campaigns…`). Thin: the workspace is the API key's, input is
validated here, every write is one service of `campaigns.services` (the same ones the UI and
the admin call). Another workspace's campaign is a 404, never a 403.

A package (the ~500-line rule): `serializers` (input and output shapes) and `views` (the
endpoints). The URLconf and callers import from here."""

from campaigns.api.serializers import (
    AudienceSerializer,
    AudienceSummarySerializer,
    CampaignLogSerializer,
    CampaignMediaSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    ContactBriefSerializer,
    NumberShareSerializer,
    ProgressSerializer,
    RecipientImportErrorSerializer,
    RecipientImportSerializer,
)
from campaigns.api.views import (
    CampaignCancelView,
    CampaignDetailView,
    CampaignErrorsMixin,
    CampaignListView,
    CampaignLogListView,
    CampaignObjectMixin,
    CampaignPauseView,
    CampaignProgressView,
    CampaignResumeView,
    CampaignStartView,
    CampaignVerbView,
)

__all__ = [
    "AudienceSerializer",
    "AudienceSummarySerializer",
    "CampaignCancelView",
    "CampaignDetailView",
    "CampaignErrorsMixin",
    "CampaignListView",
    "CampaignLogListView",
    "CampaignLogSerializer",
    "CampaignMediaSerializer",
    "CampaignObjectMixin",
    "CampaignPauseView",
    "CampaignProgressView",
    "CampaignResumeView",
    "CampaignSerializer",
    "CampaignStartView",
    "CampaignVerbView",
    "CampaignWriteSerializer",
    "ContactBriefSerializer",
    "NumberShareSerializer",
    "ProgressSerializer",
    "RecipientImportErrorSerializer",
    "RecipientImportSerializer",
]
