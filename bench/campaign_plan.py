"""bench/campaign_plan.py --recipients N --numbers K: time to start a campaign of N recipients
over K connected numbers, i.e. to check the recipients (every variable has a value), read the
numbers' age and recent activity, distribute the recipients (weighted round robin with sticky
numbers), plan every send time (pacing, daily capacity, window) and write the N CampaignLog
rows (COPY). No browser: nothing is sent. Prints one JSON object: seconds, rows_per_s and the
process's peak RSS. Own database (blazz_bench_campaign) and Redis databases 13-15."""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import time
from datetime import timedelta

from _common import machine

BENCH_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/blazz_bench_campaign",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "CHANNEL_LAYER_URL": "redis://127.0.0.1:6379/15",
}
os.environ.update(BENCH_ENV)

import django  # noqa: E402

django.setup()

from collections import Counter  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Workspace  # noqa: E402
from campaigns import services  # noqa: E402
from campaigns.models import Campaign, CampaignLog  # noqa: E402
from messaging.models import Contact, ContactSession  # noqa: E402
from sessions_app.models import WhatsAppSession  # noqa: E402

AGES_DAYS = (3, 15, 60)  # one tier each: 500, 1,500 and 3,000 a day


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def bench_world(recipients: int, numbers: int) -> Workspace:
    """A fresh workspace with `numbers` connected numbers of mixed ages and `recipients`
    contacts (5 % of them sticky to a number), written with set-based SQL so the setup
    neither takes long nor inflates the measured peak RSS."""
    call_command("preflight", verbosity=0, stdout=io.StringIO())  # stdout is for the JSON only
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # This database is the benchmark's own: start empty, without loading old rows to delete.
        cursor.execute(f"TRUNCATE {Workspace._meta.db_table} CASCADE")
    workspace = Workspace.objects.create(slug="bench-campaign", name="Bench campaign", timezone="UTC")
    now = timezone.now()
    sessions = WhatsAppSession.objects.bulk_create(
        [
            WhatsAppSession(
                workspace=workspace,
                session_id=f"bench-campaign-{i}",
                phone_number=f"+5511970{i:06d}",
                status=WhatsAppSession.Status.CONNECTED,
                last_connected_at=now,
            )
            for i in range(numbers)
        ]
    )
    for i, session in enumerate(sessions):
        WhatsAppSession.objects.filter(pk=session.pk).update(
            created_at=now - timedelta(days=AGES_DAYS[i % len(AGES_DAYS)])
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Contact._meta.db_table}
                (uuid, workspace_id, phone, name, profile_name, metadata, created_at, updated_at)
            SELECT gen_random_uuid(), %s, '+5511' || lpad(i::text, 9, '0'), 'Person ' || i, '', '{{}}',
                   now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [workspace.pk, recipients],
        )
        cursor.execute(
            f"""
            INSERT INTO {ContactSession._meta.db_table}
                (uuid, contact_id, whatsapp_session_id, first_interaction_at, last_interaction_at,
                 total_messages, unread_count, status)
            SELECT gen_random_uuid(), c.id, (%s::bigint[])[1 + (c.id / 20) %% %s], now(), now(), 1, 0, 'open'
            FROM {Contact._meta.db_table} c WHERE c.workspace_id = %s AND c.id %% 20 = 0
            """,
            [[s.pk for s in sessions], numbers, workspace.pk],
        )
    return workspace


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--numbers", type=int, default=20)
    args = parser.parse_args()
    workspace = bench_world(args.recipients, args.numbers)
    rss_before = peak_rss_mb()

    began = time.perf_counter()
    campaign, _ = services.campaign_create(
        workspace=workspace, name="bench", body="Olá {{name}}, novidades para {{phone}}!"
    )
    services.campaign_start(campaign=campaign)
    seconds = time.perf_counter() - began

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING and campaign.total_count == args.recipients
    rows = CampaignLog.objects.filter(campaign=campaign)
    shares = Counter(rows.values_list("whatsapp_session_id", flat=True))
    span = rows.aggregate(first=Min("scheduled_at"), last=Max("scheduled_at"))
    print(
        json.dumps(
            {
                "benchmark": "campaign_plan",
                "recipients": args.recipients,
                "numbers": args.numbers,
                "seconds": round(seconds, 2),
                "rows_per_s": round(args.recipients / seconds),
                "peak_rss_mb": peak_rss_mb(),
                "rss_before_mb": rss_before,
                "logs_per_number": {"min": min(shares.values()), "max": max(shares.values())},
                "plan_spans_hours": round((span["last"] - span["first"]).total_seconds() / 3600, 1),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
