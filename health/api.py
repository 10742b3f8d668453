"""`GET /api/v1/health`: the Health page's figures for the API key's workspace (F2). Thin:
one selector (health.selectors) computes them, these serializers shape and document
them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from health.selectors import STUCK_REASONS, health_report
from health.usage import workspace_usage
from sessions_app.models import WhatsAppSession, WorkerInstance


class WorkerHealthSerializer(serializers.Serializer):
    name = serializers.CharField()
    queue = serializers.CharField(help_text="The Celery queue the worker consumes (`wa.<name>`).")
    hostname = serializers.CharField()
    status = serializers.ChoiceField(choices=WorkerInstance.Status.choices, help_text="As recorded.")
    capacity = serializers.IntegerField(help_text="Most browsers it accepts.")
    sessions_assigned = serializers.IntegerField(
        help_text="Live sessions the database assigns to it (all workspaces)."
    )
    sessions_reported = serializers.IntegerField(
        allow_null=True, help_text="Browsers its last heartbeat said it hosts."
    )
    chrome_pss_mb = serializers.FloatField(allow_null=True, help_text="Chrome's proportional memory (MiB).")
    open_fds = serializers.IntegerField(
        allow_null=True, help_text="Open file descriptors of the worker and its browsers."
    )
    load = serializers.FloatField(allow_null=True, help_text="The host's 1-minute load average.")
    last_heartbeat_at = serializers.DateTimeField(allow_null=True)
    heartbeat_age_seconds = serializers.FloatField(allow_null=True)
    heartbeat_stale = serializers.BooleanField(
        help_text="Not dead on record, but silent longer than the dead-worker threshold."
    )


class StuckSessionSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    session_id = serializers.CharField()
    phone_number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=WhatsAppSession.Status.choices)
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=STUCK_REASONS),
        help_text="`failed`; or connected but `restarting` (restart attempts > 0), `silent` (no activity "
        "for BLAZZ_HEALTH_SILENT_AFTER_MINUTES) or `not_reported_by_worker` (no worker heartbeat lists it).",
    )
    restart_attempts = serializers.IntegerField()
    worker = serializers.CharField(allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)
    last_heartbeat_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(help_text="Why it failed, when known.")


class RestartFiguresSerializer(serializers.Serializer):
    restarts_last_hour = serializers.IntegerField()
    failovers_last_hour = serializers.IntegerField()
    sessions_restarting = serializers.IntegerField(help_text="Sessions with restart attempts > 0.")
    restart_attempts_total = serializers.IntegerField()


class QueueDepthSerializer(serializers.Serializer):
    queue = serializers.CharField()
    depth = serializers.IntegerField(help_text="Tasks waiting in the queue.")


class QueueFiguresSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="False when the broker did not answer (see `error`).")
    error = serializers.CharField()
    queues = QueueDepthSerializer(many=True)
    unacked = serializers.IntegerField(
        allow_null=True, help_text="Tasks taken by a worker and not acknowledged yet."
    )


class WebhookFiguresSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    sending = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed at least once; a retry is scheduled.")
    dead = serializers.IntegerField(help_text="Given up on; redeliver them from the Webhooks page or API.")
    backlog = serializers.IntegerField(help_text="pending + sending + failed.")
    oldest_backlog_age_seconds = serializers.FloatField(allow_null=True)


class MessageFiguresSerializer(serializers.Serializer):
    inbound = serializers.IntegerField()
    outbound = serializers.IntegerField()
    outbound_failed = serializers.IntegerField()


class HealthSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    workers = WorkerHealthSerializer(
        many=True, help_text="Every session worker (shared infrastructure: not per workspace)."
    )
    sessions_by_status = serializers.DictField(
        child=serializers.IntegerField(), help_text="The workspace's numbers (not deleted) per status."
    )
    stuck_sessions_total = serializers.IntegerField()
    stuck_by_reason = serializers.DictField(child=serializers.IntegerField())
    stuck_sessions = StuckSessionSerializer(many=True, help_text="At most 50, most recently changed first.")
    restarts = RestartFiguresSerializer()
    queues = QueueFiguresSerializer(help_text="Celery queue depths on the broker (shared infrastructure).")
    webhooks = WebhookFiguresSerializer(help_text="The workspace's webhook outbox.")
    messages_last_hour = MessageFiguresSerializer(
        help_text="Messages created in the last hour, by direction."
    )
    thresholds = serializers.DictField(child=serializers.IntegerField())


class HealthView(APIView):
    @extend_schema(
        summary="Health of the workspace's numbers and of the platform",
        description="Workers (status, sessions, capacity, Chrome memory, open files, heartbeat age), the "
        "workspace's numbers by status, stuck and failed numbers, restarts, Celery queue depths, the "
        "webhook backlog and dead deliveries, and message throughput of the last hour. Computed from "
        "the database, the workers' heartbeats and the broker at request time.",
        responses={200: HealthSerializer},
    )
    def get(self, request):
        return Response(HealthSerializer(health_report(workspace=api_workspace(request))).data)


class UsageItemSerializer(serializers.Serializer):
    name = serializers.ChoiceField(
        choices=["active_numbers", "browsers", "contacts", "webhook_endpoints", "campaign_recipients"],
        help_text="`browsers` is the fair share of the fleet; the others are quotas.",
    )
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True, help_text="Null: no limit.")
    percent = serializers.FloatField(allow_null=True)
    reached = serializers.BooleanField(help_text="The next one would be refused.")
    description = serializers.CharField()


class WorkspaceUsageSerializer(serializers.Serializer):
    items = UsageItemSerializer(many=True)
    fleet_capacity = serializers.IntegerField(
        help_text="Browser slots of the live session workers (all workspaces)."
    )
    fair_share_fraction = serializers.FloatField(
        help_text="The fraction of `fleet_capacity` one workspace may hold (never fewer than a small floor)."
    )


class WorkspaceUsageView(APIView):
    @extend_schema(
        summary="The workspace's quotas and usage",
        description="What the workspace uses of each quota (active numbers, contacts, webhook endpoints, "
        "recipients per campaign) and of its fair share of the fleet's browsers. A write past a quota is "
        "answered 403 `quota_exceeded`; a number past the fair share 503 `fair_share`.",
        responses={200: WorkspaceUsageSerializer},
    )
    def get(self, request):
        return Response(WorkspaceUsageSerializer(workspace_usage(workspace=api_workspace(request))).data)
