"""The campaign services' refusals; their messages are written for users and shown as is
(the UI as a flash or form error, the API as `detail`: 400 for CampaignInvalid, 409 else)."""

from accounts.quotas import QuotaExceeded


class CampaignError(Exception):
    """A business rule refused the request; the message is safe to show."""


class CampaignInvalid(CampaignError):
    """The campaign's content is wrong (400); `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CampaignStateError(CampaignError):
    """The campaign's status does not allow this (409)."""


class NoSendingNumber(CampaignError):
    """No chosen number is connected (409)."""


class CampaignQuotaExceeded(QuotaExceeded, CampaignInvalid):
    """Past a workspace quota (recipients per campaign, contacts): the API answers 403
    `quota_exceeded`, the UI a form error like any CampaignInvalid."""


class RecipientsImporting(CampaignStateError):
    """The campaign's recipient list is still being imported (409)."""
