"""The Celery app. Queues: the general ones from settings, plus one `wa.<name>` queue per
session worker, which that worker declares itself with `-Q`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blazz.settings")

app = Celery("blazz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def session_queue_name(worker_name: str) -> str:
    from django.conf import settings

    return f"{settings.BLAZZ_WORKER_QUEUE_PREFIX}{worker_name}"
