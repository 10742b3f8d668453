"""The message as a recipient gets it: the attachment dispatch hands chat_send with every
send, and a test send of the filled-in text before anyone gets it."""

from __future__ import annotations

from blazz.templating import TemplateError, render
from campaigns.errors import CampaignInvalid
from campaigns.models import Campaign
from messaging.models import Chat, Contact
from messaging.services import MessagingError, chat_send
from messaging.services.media import OutboundMedia


def campaign_media(campaign: Campaign) -> OutboundMedia | None:
    """What dispatch hands chat_send besides the caption: the one file, for every recipient."""
    if campaign.media_file_id is None:
        return None
    return OutboundMedia(kind=campaign.media_kind, file=campaign.media_file, filename=campaign.media_filename)


def campaign_test_send(*, campaign: Campaign, contact: Contact, sent_by=None) -> Chat:
    """Sends the campaign's text, filled in for `contact` (one of the workspace's own), once,
    now, as a normal message: what a recipient would get, before anyone gets it."""
    if contact.workspace_id != campaign.workspace_id:
        raise CampaignInvalid("Pick one of this workspace's contacts.", field="contact")
    try:
        text = render(
            campaign.body, name=contact.name, phone=contact.phone_e164 or "", metadata=contact.metadata
        )
    except TemplateError as exc:
        raise CampaignInvalid(f"{contact.label}: {exc}", field="contact") from exc
    try:
        chat, _ = chat_send(
            workspace=campaign.workspace,
            to=contact.address,
            body=text,
            sent_by=sent_by,
            media=campaign_media(campaign),
        )
    except MessagingError as exc:
        raise CampaignInvalid(str(exc), field="contact") from exc
    return chat
