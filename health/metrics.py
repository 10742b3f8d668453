"""`/metrics` for Prometheus (F2): the Health page's figures as gauges, computed at scrape
time by a custom collector from the database, the heartbeats and the broker — never
counters kept in one process's memory, which each web process would report differently.

Access: with BLAZZ_METRICS_TOKEN set, only `Authorization: Bearer <token>`; without it,
only a client on loopback whose request did not come through a proxy. Figures cover every
workspace but carry no tenant label (nothing a workspace owns leaks into a scrape)."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from health.selectors import STUCK_REASONS, HealthReport, health_report
from sessions_app.models import WorkerInstance

# Headers a reverse proxy adds: their presence means REMOTE_ADDR is the proxy, not the client.
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")
_MIB = 2**20


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class HealthCollector:
    """Yields the gauges of one `health_report(workspace=None)`, taken when collected."""

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        report = health_report(workspace=None)
        yield from self._workers(report)
        yield from self._sessions(report)
        yield from self._queues(report)
        yield from self._webhooks_and_messages(report)
        duration = _gauge("blazz_health_scrape_duration_seconds", "Time spent computing these figures.")
        duration.add_metric([], time.monotonic() - started)
        yield duration

    def _workers(self, report: HealthReport) -> Iterator[Metric]:
        up = _gauge("blazz_worker_up", "1 if the worker is alive and its heartbeat is fresh.", ["worker"])
        state = _gauge("blazz_worker_status", "1 for the worker's recorded status.", ["worker", "status"])
        capacity = _gauge("blazz_worker_capacity", "Most sessions the worker accepts.", ["worker"])
        assigned = _gauge(
            "blazz_worker_sessions_assigned", "Live sessions the database assigns to it.", ["worker"]
        )
        reported = _gauge(
            "blazz_worker_sessions_reported", "Sessions its last heartbeat said it hosts.", ["worker"]
        )
        pss = _gauge(
            "blazz_worker_chrome_pss_bytes", "Proportional memory of its Chrome processes.", ["worker"]
        )
        fds = _gauge(
            "blazz_worker_open_fds", "Open file descriptors of the worker and its browsers.", ["worker"]
        )
        load = _gauge("blazz_worker_load1", "1-minute load average of the worker's host.", ["worker"])
        age = _gauge(
            "blazz_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat.", ["worker"]
        )
        for worker in report.workers:
            labels = [worker.name]
            up.add_metric(
                labels, float(worker.status == WorkerInstance.Status.ALIVE and not worker.heartbeat_stale)
            )
            for status in WorkerInstance.Status.values:
                state.add_metric([worker.name, status], float(worker.status == status))
            capacity.add_metric(labels, worker.capacity)
            assigned.add_metric(labels, worker.sessions_assigned)
            # A figure the heartbeat did not report is absent, not 0: 0 would be a lie (F2).
            if worker.sessions_reported is not None:
                reported.add_metric(labels, worker.sessions_reported)
            if worker.chrome_pss_mb is not None:
                pss.add_metric(labels, worker.chrome_pss_mb * _MIB)
            if worker.open_fds is not None:
                fds.add_metric(labels, worker.open_fds)
            if worker.load is not None:
                load.add_metric(labels, worker.load)
            if worker.heartbeat_age_seconds is not None:
                age.add_metric(labels, worker.heartbeat_age_seconds)
        yield from (up, state, capacity, assigned, reported, pss, fds, load, age)

    def _sessions(self, report: HealthReport) -> Iterator[Metric]:
        by_status = _gauge("blazz_sessions", "Live (not deleted) sessions per status.", ["status"])
        for status, count in report.sessions_by_status.items():
            by_status.add_metric([status], count)
        stuck = _gauge("blazz_sessions_stuck", "Failed sessions and connected ones that look stuck.")
        stuck.add_metric([], report.stuck_sessions_total)
        by_reason = _gauge("blazz_sessions_stuck_by_reason", "Stuck sessions per reason.", ["reason"])
        for reason in STUCK_REASONS:
            by_reason.add_metric([reason], report.stuck_by_reason.get(reason, 0))
        restarts = _gauge("blazz_session_restarts_last_hour", "Session restarts in the last hour.")
        restarts.add_metric([], report.restarts.restarts_last_hour)
        failovers = _gauge("blazz_session_failovers_last_hour", "Session failovers in the last hour.")
        failovers.add_metric([], report.restarts.failovers_last_hour)
        restarting = _gauge("blazz_sessions_restarting", "Sessions with restart attempts > 0.")
        restarting.add_metric([], report.restarts.sessions_restarting)
        attempts = _gauge("blazz_session_restart_attempts", "Sum of the sessions' restart attempts.")
        attempts.add_metric([], report.restarts.restart_attempts_total)
        yield from (by_status, stuck, by_reason, restarts, failovers, restarting, attempts)

    def _queues(self, report: HealthReport) -> Iterator[Metric]:
        broker_up = _gauge("blazz_broker_up", "1 if the Celery broker answered.")
        broker_up.add_metric([], float(report.queues.ok))
        yield broker_up
        if not report.queues.ok:
            return  # no depth is better than a made-up one
        depth = _gauge("blazz_queue_depth", "Tasks waiting in each Celery queue.", ["queue"])
        for queue in report.queues.queues:
            depth.add_metric([queue.queue], queue.depth)
        unacked = _gauge("blazz_queue_unacked", "Tasks taken by workers and not acknowledged yet.")
        unacked.add_metric([], report.queues.unacked or 0)
        yield from (depth, unacked)

    def _webhooks_and_messages(self, report: HealthReport) -> Iterator[Metric]:
        webhooks = report.webhooks
        deliveries = _gauge("blazz_webhook_deliveries", "Webhook outbox rows per status.", ["status"])
        for status in ("pending", "sending", "failed", "dead"):
            deliveries.add_metric([status], getattr(webhooks, status))
        backlog = _gauge(
            "blazz_webhook_backlog", "Webhook deliveries still to make (pending, sending, failed)."
        )
        backlog.add_metric([], webhooks.backlog)
        oldest = _gauge("blazz_webhook_backlog_oldest_age_seconds", "Age of the oldest undelivered webhook.")
        oldest.add_metric([], webhooks.oldest_backlog_age_seconds or 0)
        messages = _gauge("blazz_messages_last_hour", "Messages created in the last hour.", ["direction"])
        messages.add_metric(["inbound"], report.messages_last_hour.inbound)
        messages.add_metric(["outbound"], report.messages_last_hour.outbound)
        failed = _gauge("blazz_messages_failed_last_hour", "Outbound messages of the last hour that failed.")
        failed.add_metric([], report.messages_last_hour.outbound_failed)
        yield from (deliveries, backlog, oldest, messages, failed)


def metrics_registry() -> CollectorRegistry:
    """A registry holding only the health collector (no process-global metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector())
    return registry


def metrics_access_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read /metrics, else the response refusing it."""
    token = settings.BLAZZ_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        response = HttpResponse("A valid 'Authorization: Bearer <token>' is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    try:
        local = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        local = False
    if local and not any(request.META.get(header) for header in _PROXY_HEADERS):
        return None
    return HttpResponse(
        "/metrics answers only local clients while BLAZZ_METRICS_TOKEN is not set.\n", status=403
    )


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = metrics_access_refusal(request)
    if refusal is not None:
        return refusal
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(metrics_registry()), content_type=content_type)
