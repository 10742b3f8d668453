"""The Celery app. Queues: the general ones from settings, plus one `wa.<name>` queue per
session worker, which that worker declares itself with `-Q`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blazz.settings")
# Celery's Django fixup runs every system check when a worker or beat starts and throws the
# answer away: nothing is reported and nothing refuses to start. It cost each start 0.75 s
# (the URLconf, the API views and the schema machinery get imported), and a session worker
# restores its numbers only after it. Misconfiguration is caught where it is reported:
# `manage.py check` (run by `make run` and before a release) and the web process.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("blazz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def session_queue_name(worker_name: str) -> str:
    from django.conf import settings

    return f"{settings.BLAZZ_WORKER_QUEUE_PREFIX}{worker_name}"
