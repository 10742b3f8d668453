"""Provisions a fresh deployment's database for the fault tests, run in a subprocess against
the deployment's own DATABASE_URL (`python -m tests.e2e.provision`): a user, a workspace, an
API key, and Beat's send sweep on a fast schedule. Prints one JSON object: {"api_key": ...}.
Imports only the product (and django_celery_beat), so it runs with production settings too."""

from __future__ import annotations

import json
import os
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blazz.settings")
django.setup()

from django_celery_beat.models import IntervalSchedule, PeriodicTask  # noqa: E402

from accounts.services import api_key_create, user_signup  # noqa: E402

SEND_SWEEP_EVERY_SECONDS = 2


def provision() -> dict[str, str]:
    user, workspace = user_signup(
        email=f"faults-{uuid.uuid4().hex[:8]}@example.com",
        password=uuid.uuid4().hex,
        workspace_name="Fault tests",
    )
    _, key = api_key_create(workspace=workspace, name="fault test", created_by=user)
    # Beat runs only the send sweep, every 2 s instead of 30 s: the other periodic tasks
    # (reconciliation, liveness) have their own tests and would only blur the counts.
    PeriodicTask.objects.all().delete()
    every, _ = IntervalSchedule.objects.get_or_create(every=SEND_SWEEP_EVERY_SECONDS, period="seconds")
    PeriodicTask.objects.create(
        name="pending sends sweep",
        task="messaging.tasks.chats_sweep_pending",
        interval=every,
        expire_seconds=SEND_SWEEP_EVERY_SECONDS * 5,
    )
    return {"api_key": key, "workspace": str(workspace.uuid)}


if __name__ == "__main__":
    print(json.dumps(provision()))
