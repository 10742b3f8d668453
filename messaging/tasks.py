"""Messaging tasks: thin, take ids, call one service. `deliver_webhook*` are routed to the
`webhooks` queue (settings.CELERY_TASK_ROUTES)."""

from celery import shared_task

from messaging import services, webhooks
from messaging.services import media


@shared_task(name="messaging.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str | None:
    # Claimed by conditional update inside the service: a duplicate or late task is a no-op.
    # Then the same slot goes on with the endpoint's other due deliveries (a burst drains
    # at the endpoint's concurrency, not a few per sweep).
    return webhooks.webhook_delivery_attempt(delivery_id=delivery_id, drain=True)


@shared_task(name="messaging.tasks.deliver_webhooks")
def deliver_webhooks(delivery_ids: list[int]) -> int:
    """A chunk of one batch of events (an inbound batch times the endpoints)."""
    return webhooks.webhook_deliveries_attempt(delivery_ids=delivery_ids)


@shared_task(name="messaging.tasks.chats_sweep_pending")
def chats_sweep_pending() -> dict[str, int]:
    """Every 30 s from Beat (data migration 0008): sends a lost wake-up left pending."""
    result = services.chats_sweep_pending()
    return {"woken": result.woken, "released": result.released, "failed": result.failed}


@shared_task(name="messaging.tasks.deliver_webhooks_due")
def deliver_webhooks_due() -> int:
    """Every 5 s from Beat (data migration 0004): retries that came due and stragglers."""
    return webhooks.webhook_deliveries_due()


@shared_task(name="messaging.tasks.contact_import_run")
def contact_import_run(*, import_pk: int) -> int:
    # A wake-up only: the ContactImport row is the work, each batch committed with its progress.
    return services.contact_import_run(import_pk=import_pk)


@shared_task(name="messaging.tasks.contact_imports_sweep")
def contact_imports_sweep() -> int:
    """Every 30 s from Beat (data migration): imports whose wake-up was lost."""
    return len(services.contact_imports_sweep())


@shared_task(name="messaging.tasks.media_thumbnail_make")
def media_thumbnail_make(*, media_file_pk: int) -> bool:
    # General worker (queue `default`): Pillow never runs in a browser's worker.
    return media.media_thumbnail_make(media_file_pk=media_file_pk)


@shared_task(name="messaging.tasks.media_thumbnails_sweep")
def media_thumbnails_sweep() -> int:
    """Every minute from Beat (migration 0020): thumbnails whose wake-up was lost."""
    return len(media.media_thumbnails_sweep())


@shared_task(name="messaging.tasks.media_cleanup")
def media_cleanup() -> dict[str, int]:
    """Every hour from Beat (migration 0020): orphan media and media of retired numbers."""
    return media.media_cleanup()
