"""Long recipient lists, imported in the background (issue 16: a 5,000-phone list was one
12-second request in one transaction).

A list audience with more phones than BLAZZ_RECIPIENT_IMPORT_SYNC_MAX is saved at once with
the contacts named by uuid, and its phones go to a RecipientImport row; the campaign's
audience names the import (`"import": <uuid>`) until it completes, and the campaign cannot
start before. `recipient_import_run` (Celery, `campaigns` queue) advances the row in batches
of BLAZZ_RECIPIENT_IMPORT_BATCH: each batch normalises its phones, creates the missing
contacts in one statement (ON CONFLICT DO NOTHING, within the contacts quota) and moves
`processed` forward, all in one transaction, so a batch is done once or not at all. The last
batch hands the contacts to the campaign's audience.

Lock order (the campaign services' own): the Campaign row, then the import row. Two runs of
one import (a redelivered message, the sweep's wake-up while a worker is on it) queue on the
campaign row and each takes the next batch; neither repeats one. The Celery message is only
a wake-up: `recipient_imports_sweep` (Beat) re-enqueues every import not advanced for
BLAZZ_RECIPIENT_IMPORT_STALE_SECONDS."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from blazz.celery import app as celery_app
from blazz.phones import InvalidPhoneNumber, normalize_phone
from blazz.realtime import publish_to_workspace
from campaigns.models import Campaign, RecipientImport
from messaging.services import contacts_ensure

logger = logging.getLogger(__name__)

ImportStatus = RecipientImport.Status
RUN_TASK = "campaigns.tasks.recipient_import_run"
# Refused phones shown with their reason; the rest are only counted.
ERROR_EXAMPLES = 20


def recipient_import_enqueue(*, import_pk: int) -> None:
    """After commit, wakes a worker of the `campaigns` queue for this import (routed by
    CELERY_TASK_ROUTES; looked up by name, so services never import the task layer)."""
    transaction.on_commit(lambda: celery_app.send_task(RUN_TASK, kwargs={"import_pk": import_pk}))


def recipient_import_create(*, campaign: Campaign, phones: list[Any]) -> RecipientImport:
    """Records the import of `phones` into `campaign`'s list audience and wakes a worker.
    Precondition: inside the transaction that writes the campaign (the caller then stores
    `"import": str(job.uuid)` in the audience). Earlier unfinished imports of the campaign
    are superseded: the new audience replaces theirs."""
    RecipientImport.objects.filter(
        campaign=campaign, status__in=(ImportStatus.PENDING, ImportStatus.RUNNING)
    ).update(status=ImportStatus.SUPERSEDED, phones=[], contact_uuids=[], updated_at=timezone.now())
    job = RecipientImport.objects.create(
        workspace_id=campaign.workspace_id,
        campaign=campaign,
        phones=[str(p) for p in phones],
        total=len(phones),
    )
    recipient_import_enqueue(import_pk=job.pk)
    return job


def recipient_imports_supersede(*, campaign: Campaign) -> int:
    """The campaign's audience was replaced: its unfinished imports stop."""
    return RecipientImport.objects.filter(
        campaign=campaign, status__in=(ImportStatus.PENDING, ImportStatus.RUNNING)
    ).update(status=ImportStatus.SUPERSEDED, phones=[], contact_uuids=[], updated_at=timezone.now())


def _normalise(batch: list[str], region: str | None) -> tuple[list[str], list[dict[str, str]]]:
    valid, refused = [], []
    for raw in batch:
        try:
            valid.append(normalize_phone(raw, region=region))
        except InvalidPhoneNumber as exc:
            refused.append({"phone": raw[:64], "error": str(exc)[:200]})
    return valid, refused


def recipient_import_step(*, import_pk: int) -> bool:
    """Imports the next batch of the import; returns True when there is more to do. A
    finished, superseded or deleted import is left alone (False). One transaction: the
    contacts of the batch, its progress and, for the last batch, the campaign's audience."""
    with transaction.atomic():
        campaign_pk = (
            RecipientImport.objects.filter(pk=import_pk).values_list("campaign_id", flat=True).first()
        )
        if campaign_pk is None:
            return False
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("workspace")
            .filter(pk=campaign_pk)
            .first()
        )
        job = (
            RecipientImport.objects.select_for_update()
            .filter(pk=import_pk, status__in=(ImportStatus.PENDING, ImportStatus.RUNNING))
            .first()
        )
        if job is None or campaign is None:
            return False
        if (campaign.audience or {}).get("import") != str(job.uuid):
            job.status, job.phones, job.contact_uuids = ImportStatus.SUPERSEDED, [], []
            job.save(update_fields=["status", "phones", "contact_uuids", "updated_at"])
            return False
        batch = job.phones[job.processed : job.processed + settings.BLAZZ_RECIPIENT_IMPORT_BATCH]
        valid, refused = _normalise(batch, campaign.workspace.phone_region)
        ensured = contacts_ensure(workspace=campaign.workspace, phones=valid)
        refused += [
            {"phone": phone, "error": "The workspace reached its contacts quota."}
            for phone in ensured.over_quota
        ]
        job.contact_uuids = list(dict.fromkeys([*job.contact_uuids, *ensured.uuids]))
        job.processed += len(batch)
        job.error_count += len(refused)
        job.errors = (job.errors + refused)[:ERROR_EXAMPLES]
        job.status = ImportStatus.RUNNING
        more = job.processed < job.total
        if not more:
            _complete(job, campaign)
        job.save()
        # Sent after commit (publish_to_workspace waits for it): the UI's progress bar.
        publish_to_workspace(
            workspace_uuid=campaign.workspace.uuid,
            event="campaign.import",
            payload=recipient_import_payload(job, campaign),
        )
    return more


def _complete(job: RecipientImport, campaign: Campaign) -> None:
    """The last batch: the campaign's list becomes the named contacts plus the imported ones."""
    audience = dict(campaign.audience)
    audience.pop("import", None)
    audience["contacts"] = list(dict.fromkeys([*(audience.get("contacts") or []), *job.contact_uuids]))
    Campaign.objects.filter(pk=campaign.pk).update(audience=audience, updated_at=timezone.now())
    campaign.audience = audience
    job.status = ImportStatus.COMPLETED
    job.completed_at = timezone.now()
    job.phones, job.contact_uuids = [], []


def recipient_import_run(*, import_pk: int, max_batches: int | None = None) -> int:
    """Advances the import until it is done (or `max_batches` were imported); returns how
    many batches this call imported. Safe to run twice and concurrently (module docstring)."""
    done = 0
    while max_batches is None or done < max_batches:
        more = recipient_import_step(import_pk=import_pk)
        done += 1
        if not more:
            break
    return done


def recipient_imports_sweep(*, now=None) -> list[int]:
    """Beat: wakes every unfinished import nobody advanced for
    BLAZZ_RECIPIENT_IMPORT_STALE_SECONDS (its Celery message was lost, or its worker died).
    A worker still on it meanwhile costs nothing: the woken run takes the next batch."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.BLAZZ_RECIPIENT_IMPORT_STALE_SECONDS)
    stale = list(
        RecipientImport.objects.filter(
            status__in=(ImportStatus.PENDING, ImportStatus.RUNNING), updated_at__lt=cutoff
        )
        .order_by("updated_at")
        .values_list("pk", flat=True)[:100]
    )
    for pk in stale:
        celery_app.send_task(RUN_TASK, kwargs={"import_pk": pk})
        logger.info("recipient import %s was not advancing; woken again", pk)
    return stale


def recipient_import_payload(job: RecipientImport, campaign: Campaign) -> dict[str, Any]:
    return {
        "uuid": str(campaign.uuid),
        "import": str(job.uuid),
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "error_count": job.error_count,
        "percent": job.percent,
    }
