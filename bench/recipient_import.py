"""bench/recipient_import.py --phones N: a campaign whose list audience names N new phones.
Times (1) the request's work (`campaign_create`, which now only records a RecipientImport
when N > BLAZZ_RECIPIENT_IMPORT_SYNC_MAX), (2) the background import run to completion in
batches, as the `campaigns` queue would, and (3) for comparison the same list imported inside
the request (the synchronous path, as lists up to the threshold are) and (4) the old way, one
contact get-or-create per phone. Prints one JSON object.
Own database (blazz_bench_import, or $DATABASE_URL) and Redis databases 13-15; a fresh
workspace each run."""

from __future__ import annotations

import argparse
import io
import json
import os
import time

from _common import machine

BENCH_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/blazz_bench_import",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "CHANNEL_LAYER_URL": "redis://127.0.0.1:6379/15",
}
for name, value in BENCH_ENV.items():
    os.environ.setdefault(name, value)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from accounts.services import workspace_create  # noqa: E402
from campaigns import recipient_imports, services  # noqa: E402
from campaigns.models import RecipientImport  # noqa: E402
from messaging.services import contact_upsert  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phones", type=int, default=5000)
    args = parser.parse_args()
    call_command("preflight", verbosity=0, stdout=io.StringIO())
    call_command("migrate", verbosity=0)
    settings.BLAZZ_QUOTA_CAMPAIGN_RECIPIENTS = max(settings.BLAZZ_QUOTA_CAMPAIGN_RECIPIENTS, args.phones)
    stamp = int(time.time())
    owner = get_user_model().objects.create_user(username=f"bench-import-{stamp}@example.com")
    workspace = workspace_create(name=f"bench import {stamp}", owner=owner, timezone_name="UTC")
    phones = [f"+1415{3000000 + i:07d}" for i in range(args.phones)]

    started = time.perf_counter()
    with transaction.atomic():
        campaign, _ = services.campaign_create(
            workspace=workspace, name="background", body="Hi", audience={"kind": "list", "phones": phones}
        )
    request_s = time.perf_counter() - started
    job = RecipientImport.objects.get(campaign=campaign)
    started = time.perf_counter()
    batches = recipient_imports.recipient_import_run(import_pk=job.pk)
    import_s = time.perf_counter() - started
    job.refresh_from_db()

    other = [f"+1415{5000000 + i:07d}" for i in range(args.phones)]
    settings.BLAZZ_RECIPIENT_IMPORT_SYNC_MAX = args.phones
    started = time.perf_counter()
    with transaction.atomic():
        services.campaign_create(
            workspace=workspace, name="in the request", body="Hi", audience={"kind": "list", "phones": other}
        )
    sync_s = time.perf_counter() - started

    # What the request did before: one get-or-create per phone (issue 16 measured 12 s).
    old = [f"+1415{7000000 + i:07d}" for i in range(args.phones)]
    started = time.perf_counter()
    with transaction.atomic():
        for phone in old:
            contact_upsert(workspace=workspace, phone=phone)
    per_phone_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "phones": args.phones,
                "request_s": round(request_s, 3),
                "background_import_s": round(import_s, 3),
                "batches": batches,
                "batch_size": settings.BLAZZ_RECIPIENT_IMPORT_BATCH,
                "imported": job.imported,
                "in_request_bulk_s": round(sync_s, 3),
                "old_per_phone_upsert_s": round(per_phone_s, 3),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
