"""Campaign tasks: thin, routed to the `campaigns` queue (settings.CELERY_TASK_ROUTES)."""

from celery import shared_task

from campaigns import dispatch, recipient_imports


@shared_task(name="campaigns.tasks.campaigns_tick")
def campaigns_tick() -> dict[str, int]:
    """Every second from Beat (data migration 0003). Safe to overlap with itself: rows are
    claimed with SKIP LOCKED and each number is dispatched by one tick at a time."""
    return dispatch.campaigns_tick().as_dict()


@shared_task(name="campaigns.tasks.recipient_import_run")
def recipient_import_run(import_pk: int) -> int:
    """Imports a long recipient list in batches (campaigns/recipient_imports.py). Safe to run
    twice: each batch and its progress commit together."""
    return recipient_imports.recipient_import_run(import_pk=import_pk)


@shared_task(name="campaigns.tasks.recipient_imports_sweep")
def recipient_imports_sweep() -> int:
    """Every 30 s from Beat (migration 0005): wakes imports whose Celery message was lost."""
    return len(recipient_imports.recipient_imports_sweep())
