"""Drafts: creating, editing and deleting a campaign before it runs. The content rules (the
text, the attachment, the window, the numbers) live here because only a draft's content
changes: a started campaign's logs were planned from it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction

from accounts.models import Workspace
from accounts.tenancy import scoped
from blazz.realtime import publish_to_workspace
from blazz.templating import TemplateError, variables_in
from campaigns.errors import CampaignInvalid, CampaignStateError
from campaigns.models import Campaign, RecipientImport
from campaigns.recipient_imports import recipient_import_create, recipient_imports_supersede
from campaigns.services._common import CampaignStatus, _locked, _publish_progress
from campaigns.services.audience import audience_clean
from messaging.models import MediaFile
from messaging.services import MessagingError, message_body_problem
from messaging.services.media import DOWNLOADABLE_KINDS
from messaging.services.outbound import media_filename_clean, media_kind_for_file
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import number_by_uuid

# --- Validation -----------------------------------------------------------------------------------


# Kinds WhatsApp shows no caption for (messaging.services.outbound refuses one for them).
_NO_CAPTION_KINDS = frozenset({"ptt", "sticker"})


def _clean_body(body: Any, *, media_kind: str = "") -> str:
    """The text, or with an attachment its caption: may then be empty, and must be for a voice
    note or a sticker (WhatsApp shows them without one)."""
    if media_kind and (body is None or (isinstance(body, str) and not body.strip())):
        return ""
    if media_kind in _NO_CAPTION_KINDS:
        raise CampaignInvalid(
            "A voice note or a sticker is sent without a caption; leave the text empty.", field="body"
        )
    problem = message_body_problem(body)
    if problem is not None:
        raise CampaignInvalid(problem, field="body")
    try:
        variables_in(body)
    except TemplateError as exc:
        raise CampaignInvalid(str(exc), field="body") from exc
    return body


def _clean_window(start: Any, end: Any) -> tuple[int, int]:
    if not isinstance(start, int) or not isinstance(end, int) or not (0 <= start < end <= 24):
        raise CampaignInvalid(
            "The send window must be whole hours with 0 ≤ start < end ≤ 24 (for example 6 to 22).",
            field="window_start_hour",
        )
    return start, end


def _clean_media(
    *, workspace: Workspace, media_file: MediaFile | None, media_kind: str | None, media_filename: str = ""
) -> tuple[MediaFile | None, str, str]:
    """(file, kind it is sent as, filename) of a campaign's attachment, or (None, "", "")."""
    if media_file is None:
        if media_kind:
            raise CampaignInvalid("A media type goes with a file.", field="media_type")
        return None, "", ""
    if media_file.workspace_id != workspace.pk:
        raise CampaignInvalid("No such media file in this workspace.", field="media")
    kind = media_kind or ""
    if not kind:
        mimetype = media_file.mimetype
        kind = {"image/": "image", "video/": "video", "audio/": "audio"}.get(
            mimetype.split("/", 1)[0] + "/", "document"
        )
    if kind not in DOWNLOADABLE_KINDS:
        raise CampaignInvalid(
            f"The media type must be one of {', '.join(sorted(DOWNLOADABLE_KINDS))}.", field="media_type"
        )
    try:
        filename = media_filename_clean(media_filename)
    except MessagingError as exc:
        raise CampaignInvalid(str(exc), field="media") from exc
    # Bytes that are not what the kind says go out as a document (the rule chat_send applies):
    # the campaign shows what recipients will get.
    return media_file, media_kind_for_file(kind=kind, mimetype=media_file.mimetype), filename


def _clean_sessions(
    *, workspace: Workspace, sessions: Iterable[WhatsAppSession | UUID | str]
) -> list[WhatsAppSession]:
    chosen: list[WhatsAppSession] = []
    for item in sessions:
        if isinstance(item, WhatsAppSession):
            if item.workspace_id != workspace.pk or item.deleted_at is not None:
                raise CampaignInvalid("That number does not belong to this workspace.", field="sessions")
            chosen.append(item)
            continue
        found = number_by_uuid(workspace=workspace, value=item)
        if found is None:
            raise CampaignInvalid(f"No number {item} in this workspace.", field="sessions")
        chosen.append(found)
    return chosen


# --- Drafts ---------------------------------------------------------------------------------------


def campaign_create(
    *,
    workspace: Workspace,
    name: str,
    body: str,
    audience: Any = None,
    sessions: Iterable[WhatsAppSession | UUID | str] = (),
    scheduled_at: datetime | None = None,
    window_start_hour: int = 6,
    window_end_hour: int = 22,
    created_by=None,
    idempotency_key: str | None = None,
    media_file: MediaFile | None = None,
    media_kind: str = "",
    media_filename: str = "",
) -> tuple[Campaign, bool]:
    """A draft campaign. Returns (campaign, created); the same Idempotency-Key returns the
    first campaign and creates nothing. With `media_file` (stored once, by media_file_store)
    every recipient gets that file, the body being its caption."""
    if idempotency_key is not None:
        existing = scoped(Campaign, workspace).filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise CampaignInvalid("The campaign needs a name of at most 200 characters.", field="name")
    media_file, media_kind, media_filename = _clean_media(
        workspace=workspace, media_file=media_file, media_kind=media_kind, media_filename=media_filename
    )
    body = _clean_body(body, media_kind=media_kind)
    start, end = _clean_window(window_start_hour, window_end_hour)
    chosen = _clean_sessions(workspace=workspace, sessions=sessions)
    try:
        with transaction.atomic():
            stored, to_import = audience_clean(workspace=workspace, audience=audience)
            campaign = Campaign.objects.create(
                workspace=workspace,
                name=name,
                body=body,
                audience=stored,
                scheduled_at=scheduled_at,
                window_start_hour=start,
                window_end_hour=end,
                created_by=created_by,
                idempotency_key=idempotency_key,
                media_file=media_file,
                media_kind=media_kind,
                media_filename=media_filename,
            )
            campaign.sessions.set(chosen)
            if to_import:
                _import_in_background(campaign, to_import)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent request with the same key won the insert: answer with its campaign.
        return Campaign.objects.get(workspace=workspace, idempotency_key=idempotency_key), False
    _publish_progress(campaign)
    return campaign, True


_EDITABLE = (
    "name",
    "body",
    "audience",
    "sessions",
    "scheduled_at",
    "window_start_hour",
    "window_end_hour",
    "media_file",  # None removes the attachment
    "media_kind",
    "media_filename",
)


@transaction.atomic
def campaign_update(*, campaign: Campaign, **changes: Any) -> Campaign:
    """Edits a draft (only drafts: a started campaign's logs were planned from it)."""
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise CampaignInvalid(f"Cannot change {', '.join(sorted(unknown))}.")
    campaign = _locked(campaign)
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignStateError(f"Only a draft can be edited; this campaign is {campaign.status}.")
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name or len(name) > 200:
            raise CampaignInvalid("The campaign needs a name of at most 200 characters.", field="name")
        campaign.name = name
    if {"media_file", "media_kind", "media_filename"} & set(changes):
        file = changes.get("media_file", campaign.media_file)
        kind = changes.get("media_kind", campaign.media_kind if "media_file" not in changes else "")
        filename = changes.get(
            "media_filename", campaign.media_filename if "media_file" not in changes else ""
        )
        campaign.media_file, campaign.media_kind, campaign.media_filename = _clean_media(
            workspace=campaign.workspace,
            media_file=file,
            media_kind=kind if file is not None else "",
            media_filename=filename if file is not None else "",
        )
    if "body" in changes or "media_file" in changes or "media_kind" in changes:
        campaign.body = _clean_body(changes.get("body", campaign.body), media_kind=campaign.media_kind)
    to_import: list[Any] = []
    if "audience" in changes:
        campaign.audience, to_import = audience_clean(
            workspace=campaign.workspace, audience=changes["audience"]
        )
        recipient_imports_supersede(campaign=campaign)
    if "scheduled_at" in changes:
        campaign.scheduled_at = changes["scheduled_at"]
    campaign.window_start_hour, campaign.window_end_hour = _clean_window(
        changes.get("window_start_hour", campaign.window_start_hour),
        changes.get("window_end_hour", campaign.window_end_hour),
    )
    campaign.save()
    if "sessions" in changes:
        campaign.sessions.set(
            _clean_sessions(workspace=campaign.workspace, sessions=changes["sessions"] or [])
        )
    if to_import:
        _import_in_background(campaign, to_import)
    return campaign


def _import_in_background(campaign: Campaign, phones: list[Any]) -> RecipientImport:
    """The list's phones go to a RecipientImport (campaigns/recipient_imports.py); the
    audience names it until it completes. Precondition: inside the campaign's transaction."""
    job = recipient_import_create(campaign=campaign, phones=phones)
    campaign.audience = {**campaign.audience, "import": str(job.uuid)}
    Campaign.objects.filter(pk=campaign.pk).update(audience=campaign.audience)
    return job


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Deletes a draft, completed or cancelled campaign with its logs (the messages stay)."""
    # FOR UPDATE, unlike the other campaign locks: this row goes, key and all.
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
        raise CampaignStateError(f"Cancel the campaign before deleting it (it is {campaign.status}).")
    workspace_uuid = campaign.workspace.uuid
    payload = {"uuid": str(campaign.uuid), "status": "deleted"}
    campaign.delete()
    publish_to_workspace(workspace_uuid=workspace_uuid, event="campaign.deleted", payload=payload)
