"""bench/inbox.py --messages N --contacts K: the team inbox's reads on a busy workspace (issue
19: 100,000 messages over 5,000 contacts). For each of opening the inbox (the first page of
conversations, "All" and "Mine"), opening a conversation (its thread, notes and the
reply-number check) and a full-text search over message text, it runs the selector the inbox
uses `--repeat` times and prints p50/p99 in milliseconds and the number of SQL queries (which
must not grow with the data). Prints one JSON object. Own database (blazz_bench_inbox) and
Redis databases 13-15."""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import time

from _common import machine

BENCH_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/blazz_bench_inbox",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "CHANNEL_LAYER_URL": "redis://127.0.0.1:6379/15",
}
os.environ.update(BENCH_ENV)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Membership, Workspace  # noqa: E402
from messaging.models import Chat, Contact, ContactSession, ConversationNote  # noqa: E402
from messaging.selectors import (  # noqa: E402
    InboxView,
    conversation_thread,
    conversations_search,
    reply_number_warning,
)
from sessions_app.models import WhatsAppSession  # noqa: E402

NUMBERS = 5
MEMBERS = 6
PAGE = 50
# Words the generated messages are made of; searches pick among them (and one absent word).
WORDS = (
    "order parcel refund invoice delivery address payment tracking receipt discount price "
    "cancel exchange size colour warranty store opening hours thanks hello problem broken late "
    "urgent question boleto pix entrega pedido troca"
).split()


def bench_world(messages: int, contacts: int) -> tuple[Workspace, list]:
    """A fresh workspace: NUMBERS connected numbers, `contacts` contacts, every contact on one
    number (a fifth of them on a second one too), `messages` messages spread over those
    conversations (two thirds inbound), members with a share of the conversations assigned.
    Written with set-based SQL so setting up takes seconds."""
    call_command("preflight", verbosity=0, stdout=io.StringIO())
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Workspace._meta.db_table} CASCADE")
    workspace = Workspace.objects.create(slug="bench-inbox", name="Bench inbox", timezone="UTC")
    User = get_user_model()
    User.objects.filter(username__startswith="bench-inbox-").delete()
    members = [User.objects.create_user(username=f"bench-inbox-{i}@example.com") for i in range(MEMBERS)]
    for member in members:
        Membership.objects.create(user=member, workspace=workspace, role=Membership.Role.AGENT)
    numbers = WhatsAppSession.objects.bulk_create(
        [
            WhatsAppSession(
                workspace=workspace,
                session_id=f"bench-inbox-{i}",
                phone_number=f"+5511970{i:06d}",
                status=WhatsAppSession.Status.CONNECTED,
            )
            for i in range(NUMBERS)
        ]
    )
    number_ids = [n.pk for n in numbers]
    member_ids = [m.pk for m in members]
    words = WORDS
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Contact._meta.db_table}
                (uuid, workspace_id, phone, name, profile_name, metadata, created_at, updated_at)
            SELECT gen_random_uuid(), %s, '+55219' || lpad(i::text, 8, '0'), 'Customer ' || i, '', '{{}}',
                   now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [workspace.pk, contacts],
        )
        # Conversations: each contact on number (id mod 5); every fifth contact also on the next.
        cursor.execute(
            f"""
            INSERT INTO {ContactSession._meta.db_table}
                (uuid, contact_id, whatsapp_session_id, first_interaction_at, last_interaction_at,
                 total_messages, unread_count, status, assignee_id)
            SELECT gen_random_uuid(), c.id, (%s::bigint[])[1 + ((c.id + extra) %% %s)], now(), now(), 0,
                   0, 'open', CASE WHEN c.id %% 3 = 0 THEN (%s::bigint[])[1 + (c.id %% %s)] END
            FROM {Contact._meta.db_table} c
            CROSS JOIN generate_series(0, 1) AS extra
            WHERE c.workspace_id = %s AND (extra = 0 OR c.id %% 5 = 0)
            """,
            [number_ids, NUMBERS, member_ids, MEMBERS, workspace.pk],
        )
        # Messages over those conversations, over the last 90 days, each 6-12 random words.
        cursor.execute(
            f"""
            WITH conversations AS (
                SELECT row_number() OVER (ORDER BY cs.id) AS n, cs.contact_id, cs.whatsapp_session_id
                FROM {ContactSession._meta.db_table} cs
                JOIN {Contact._meta.db_table} c ON c.id = cs.contact_id
                WHERE c.workspace_id = %s
            ), total AS (SELECT count(*) AS k FROM conversations)
            INSERT INTO {Chat._meta.db_table}
                (uuid, workspace_id, whatsapp_session_id, contact_id, wam_id, direction, body, media,
                 status, error, created_at, sent_at)
            SELECT gen_random_uuid(), %s, cv.whatsapp_session_id, cv.contact_id, 'bench_' || i,
                   CASE WHEN i %% 3 = 0 THEN 'outbound' ELSE 'inbound' END,
                   (SELECT string_agg((%s::text[])[1 + floor(random() * %s)::int], ' ')
                    FROM generate_series(1, 6 + (i %% 7)) WHERE i > 0),
                   NULL, 'delivered', '', now() - (random() * interval '90 days'), now()
            FROM generate_series(1, %s) AS i
            CROSS JOIN total
            JOIN conversations cv ON cv.n = 1 + (i %% total.k)
            """,
            [workspace.pk, workspace.pk, words, len(words), messages],
        )
        cursor.execute(
            f"""
            UPDATE {ContactSession._meta.db_table} cs SET
                total_messages = s.total, last_interaction_at = s.last_at,
                last_inbound_at = s.last_in, unread_count = s.inbound %% 4
            FROM (
                SELECT contact_id, whatsapp_session_id, count(*) AS total, max(created_at) AS last_at,
                       max(created_at) FILTER (WHERE direction = 'inbound') AS last_in,
                       count(*) FILTER (WHERE direction = 'inbound') AS inbound
                FROM {Chat._meta.db_table} WHERE workspace_id = %s
                GROUP BY contact_id, whatsapp_session_id
            ) s
            WHERE cs.contact_id = s.contact_id AND cs.whatsapp_session_id = s.whatsapp_session_id
            """,
            [workspace.pk],
        )
        cursor.execute("ANALYZE")
    conversations = list(ContactSession.objects.filter(contact__workspace=workspace).order_by("?")[:200])
    ConversationNote.objects.bulk_create(
        [
            ConversationNote(conversation=c, author=members[0], body="call back after 5pm")
            for c in conversations[:50]
        ]
    )
    return workspace, members


def measure(action, repeat: int) -> dict:
    timings, queries = [], set()
    action()  # warm the connection and the plan cache
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            action()
            timings.append((time.perf_counter() - began) * 1000)
        queries.add(len(captured.captured_queries))
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 1),
        "queries": sorted(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    began = time.perf_counter()
    workspace, members = bench_world(args.messages, args.contacts)
    setup_s = time.perf_counter() - began
    rng = random.Random(19)
    conversation_ids = list(
        ContactSession.objects.filter(contact__workspace=workspace).values_list("pk", flat=True)
    )
    numbers = list(WhatsAppSession.objects.filter(workspace=workspace))

    def open_inbox() -> None:
        list(conversations_search(workspace=workspace, view=InboxView.ALL)[:PAGE])

    def open_mine() -> None:
        list(
            conversations_search(workspace=workspace, view=InboxView.MINE, member=rng.choice(members))[:PAGE]
        )

    def open_conversation() -> None:
        conversation = ContactSession.objects.select_related("contact", "whatsapp_session", "assignee").get(
            pk=rng.choice(conversation_ids)
        )
        conversation_thread(conversation=conversation)
        reply_number_warning(conversation=conversation, sending_number=rng.choice(numbers))

    def text_search() -> None:
        list(
            conversations_search(workspace=workspace, query=rng.choice([*WORDS[:10], "nonexistentword"]))[
                :PAGE
            ]
        )

    def phone_search() -> None:
        list(
            conversations_search(workspace=workspace, query=f"(21) 9{rng.randrange(args.contacts):08d}")[
                :PAGE
            ]
        )

    results = {
        "open_inbox_all": measure(open_inbox, args.repeat),
        "open_inbox_mine": measure(open_mine, args.repeat),
        "open_conversation": measure(open_conversation, args.repeat),
        "text_search": measure(text_search, args.repeat),
        "phone_search": measure(phone_search, args.repeat),
    }
    print(
        json.dumps(
            {
                "benchmark": "inbox",
                "messages": Chat.objects.filter(workspace=workspace).count(),
                "contacts": args.contacts,
                "conversations": len(conversation_ids),
                "page": PAGE,
                "repeat": args.repeat,
                "setup_s": round(setup_s, 1),
                **results,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
