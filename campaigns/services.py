"""Writes for campaigns: create and edit drafts, start (the launch itself, re-planning and
redistribution are in `campaigns/planning.py`), pause, resume, cancel, delete, and the
counters and live progress the dispatcher (`campaigns/dispatch.py`) refreshes.

Lock order, everywhere: the Campaign row first, then its CampaignLog rows. The dispatcher
holds `FOR SHARE` on the campaigns it sends for, so a pause or cancel (an UPDATE of the
campaign row) waits for a tick in flight and no send starts after it returns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import quotas
from accounts.models import Workspace
from accounts.tenancy import scoped
from blazz.phones import InvalidPhoneNumber, normalize_phone
from blazz.realtime import publish_to_workspace
from blazz.templating import TemplateError, render, variables_in
from campaigns import selectors
from campaigns.errors import CampaignError as CampaignError  # re-exported: callers catch it here
from campaigns.errors import (
    CampaignInvalid,
    CampaignQuotaExceeded,
    CampaignStateError,
    NoSendingNumber,
    RecipientsImporting,
)
from campaigns.models import Campaign, CampaignLog, RecipientImport
from campaigns.planning import campaign_launch, campaign_redistribute, campaign_replan, no_number_message
from campaigns.recipient_imports import recipient_import_create, recipient_imports_supersede
from messaging.models import Chat, Contact, MediaFile
from messaging.services import (
    InvalidContact,
    MessagingError,
    chat_claim_for_send,
    chat_mark_failed,
    chat_send,
    contact_tags_clean,
    contacts_count,
    contacts_ensure,
    message_body_problem,
)
from messaging.services.media import DOWNLOADABLE_KINDS, OutboundMedia
from messaging.services.outbound import media_filename_clean, media_kind_for_file
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import number_by_uuid

CampaignStatus = Campaign.Status
LogStatus = CampaignLog.Status

# Recipients of a list audience given in one request.
MAX_LIST_SIZE = 100_000


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


def campaign_media(campaign: Campaign) -> OutboundMedia | None:
    """What dispatch hands chat_send besides the caption: the one file, for every recipient."""
    if campaign.media_file_id is None:
        return None
    return OutboundMedia(kind=campaign.media_kind, file=campaign.media_file, filename=campaign.media_filename)


def _recipients_quota_check(count: int) -> None:
    quotas.quota_check(
        quota=quotas.CAMPAIGN_RECIPIENTS, used=0, adding=count, error=CampaignQuotaExceeded, field="audience"
    )


def audience_clean(*, workspace: Workspace, audience: Any) -> tuple[dict[str, Any], list[Any]]:
    """Validates an audience and returns (its stored form, phones left to import):
    - `{"kind": "all"}`: every contact of the workspace;
    - `{"kind": "list", "contacts": [uuid, ...], "phones": ["+55…", ...]}`: the named contacts;
      phones are stored as contacts (created if new) and kept as their uuids. A list of more
      than BLAZZ_RECIPIENT_IMPORT_SYNC_MAX phones is not imported here: they are returned for
      a background import (campaigns/recipient_imports.py);
    - `{"kind": "filter", "metadata": {...}}`: contacts whose metadata contains this JSON;
      its `"tags"` list names tags the contact must all have (`{"tags": ["vip"]}`).
    A list longer than the recipients quota is refused (CampaignQuotaExceeded)."""
    if audience in (None, {}):
        return {"kind": "all"}, []
    if not isinstance(audience, dict):
        raise CampaignInvalid('The audience must be an object such as {"kind": "all"}.', field="audience")
    kind = audience.get("kind", "all")
    if kind == "all":
        return {"kind": "all"}, []
    if kind == "filter":
        metadata = audience.get("metadata")
        if not isinstance(metadata, dict) or not metadata:
            raise CampaignInvalid(
                'A filter audience needs metadata to match, e.g. {"tags": ["vip"]}.', field="audience"
            )
        if "tags" in metadata:
            try:
                metadata = {**metadata, "tags": contact_tags_clean(metadata["tags"])}
            except InvalidContact as refused:
                raise CampaignInvalid(f"Audience: {refused}", field="audience") from None
        return {"kind": "filter", "metadata": metadata}, []
    if kind != "list":
        raise CampaignInvalid(f"Unknown audience kind {kind!r}: use all, list or filter.", field="audience")
    uuids = audience.get("contacts") or []
    phones = audience.get("phones") or []
    if not isinstance(uuids, list) or not isinstance(phones, list):
        raise CampaignInvalid(
            "A list audience takes `contacts` (uuids) and/or `phones` (lists).", field="audience"
        )
    if not uuids and not phones:
        raise CampaignInvalid("A list audience needs at least one contact or phone number.", field="audience")
    if len(uuids) + len(phones) > MAX_LIST_SIZE:
        raise CampaignInvalid(f"A list audience holds at most {MAX_LIST_SIZE} recipients.", field="audience")
    _recipients_quota_check(len(uuids) + len(phones))
    wanted: list[str] = []
    for raw in uuids:
        try:
            wanted.append(str(UUID(str(raw))))
        except ValueError as exc:
            raise CampaignInvalid(f"{raw!r} is not a contact uuid.", field="audience") from exc
    known = {
        str(u) for u in scoped(Contact, workspace).filter(uuid__in=wanted).values_list("uuid", flat=True)
    }
    unknown = [u for u in wanted if u not in known]
    if unknown:
        raise CampaignInvalid(
            f"{len(unknown)} contact(s) are not in this workspace, e.g. {unknown[0]}.", field="audience"
        )
    if len(phones) > settings.BLAZZ_RECIPIENT_IMPORT_SYNC_MAX:
        return {"kind": "list", "contacts": list(dict.fromkeys(wanted))}, phones
    normalised = []
    for phone in phones:
        try:
            normalised.append(normalize_phone(str(phone), region=workspace.phone_region))
        except InvalidPhoneNumber as exc:
            raise CampaignInvalid(f"{phone!r}: {exc}", field="audience") from exc
    before = contacts_count(workspace=workspace)
    ensured = contacts_ensure(workspace=workspace, phones=normalised)
    if ensured.over_quota:
        # The caller's transaction rolls back the contacts made before the quota was hit.
        new = contacts_count(workspace=workspace) - before + len(ensured.over_quota)
        raise CampaignQuotaExceeded(
            quota=quotas.CONTACTS,
            limit=quotas.quota_limit(quotas.CONTACTS) or 0,
            used=before,
            adding=new,
            field="audience",
        )
    wanted.extend(ensured.uuids)
    return {"kind": "list", "contacts": list(dict.fromkeys(wanted))}, []


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


def campaign_check_recipients(*, campaign: Campaign) -> int:
    """Refuses a campaign that would send a broken message: an empty audience, or a variable
    some recipient has no value for (and no fallback). Returns the number of recipients."""
    job = recipients_import_pending(campaign=campaign)
    if job is not None:
        raise RecipientsImporting(
            f"The recipient list is still being imported ({job.processed:,} of {job.total:,} phones); "
            "start the campaign when the import completes."
        )
    contacts = selectors.audience_contacts(workspace=campaign.workspace, audience=campaign.audience)
    total = contacts.count()
    if not total:
        raise CampaignInvalid("The audience has no contacts.", field="audience")
    _recipients_quota_check(total)
    problems = []
    for variable in variables_in(campaign.body):
        if variable.fallback is not None or variable.key == "phone":
            continue
        if variable.key == "name":
            lacking = contacts.filter(name="")
        else:
            lacking = contacts.exclude(metadata__has_key=variable.key)
        missing = lacking.count()
        if missing:
            example = lacking.order_by("id").values_list("phone", flat=True).first()
            problems.append(
                f"{{{{{variable.key}}}}} has no value for {missing} of {total} recipients (e.g. {example}); "
                f"fill it in or give a fallback: {{{{{variable.key}|…}}}}"
            )
    if problems:
        raise CampaignInvalid(" ".join(problems), field="body")
    return total


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


def recipients_import_pending(*, campaign: Campaign) -> RecipientImport | None:
    """The unfinished import the campaign's audience waits for, if any."""
    import_uuid = (campaign.audience or {}).get("import")
    if not import_uuid:
        return None
    return RecipientImport.objects.filter(campaign=campaign, uuid=import_uuid).first()


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


def _locked(campaign: Campaign) -> Campaign:
    """The campaign's row, locked against other changes but not against rows that refer to it
    (their foreign-key checks), with its workspace read but not locked."""
    return (
        Campaign.objects.select_for_update(of=("self",), no_key=True)
        .select_related("workspace")
        .get(pk=campaign.pk)
    )


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


def _publish_progress(campaign: Campaign) -> None:
    progress = selectors.campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
    publish_to_workspace(
        workspace_uuid=campaign.workspace.uuid,
        event="campaign.progress",
        payload=selectors.progress_payload(campaign, progress),
    )


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
