"""Campaign tasks: thin, routed to the `campaigns` queue (settings.CELERY_TASK_ROUTES)."""

from celery import shared_task

from campaigns import dispatch


@shared_task(name="campaigns.tasks.campaigns_tick")
def campaigns_tick() -> dict[str, int]:
    """Every second from Beat (data migration 0003). Safe to overlap with itself: rows are
    claimed with SKIP LOCKED and each number is dispatched by one tick at a time."""
    return dispatch.campaigns_tick().as_dict()
