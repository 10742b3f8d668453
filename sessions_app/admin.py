from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from sessions_app import services
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance
from sessions_app.selectors import workers_with_session_counts


class SessionEventInline(admin.TabularInline):
    model = SessionEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "detail", "at"]
    ordering = ["-at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WhatsAppSession)
class WhatsAppSessionAdmin(admin.ModelAdmin):
    """Soft-deleted rows stay listed (filter "deleted") so staff can see what happened."""

    list_display = [
        "session_id",
        "workspace",
        "phone_number",
        "status",
        "is_primary",
        "assigned_worker",
        "last_activity_at",
        "restart_attempts",
        "deleted_at",
    ]
    list_filter = [
        "status",
        "provider_type",
        "is_primary",
        ("deleted_at", admin.EmptyFieldListFilter),
        "assigned_worker",
    ]
    search_fields = ["session_id", "phone_number", "workspace__name", "uuid"]
    # Every field belongs to a service (the lifecycle, placement, reconciliation): staff act
    # through the actions below, which call those services, never by editing a value.
    readonly_fields = [field.name for field in WhatsAppSession._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # numbers are added by session_create (the Numbers page, the API)

    inlines = [SessionEventInline]
    list_select_related = ["workspace", "assigned_worker"]
    actions = ["restart_sessions", "stop_sessions", "reassign_sessions"]

    def _apply(self, request, queryset, verb: str, act: Callable[[WhatsAppSession], str]) -> None:
        """Runs `act` on each selected session (each in its own transaction, so one refusal
        does not undo the others) and reports every outcome."""
        done: list[str] = []
        failed: list[str] = []
        for session in queryset.select_related("workspace", "assigned_worker").order_by("id"):
            try:
                with transaction.atomic():
                    note = act(session)
            except services.SessionServiceError as exc:
                failed.append(f"{session.session_id}: {exc}")
            else:
                done.append(f"{session.session_id}{f' ({note})' if note else ''}")
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.", messages.SUCCESS)
        if failed:
            self.message_user(request, f"{verb} refused for {'; '.join(failed)}", messages.ERROR)

    @admin.action(description="Restart the selected sessions", permissions=["change"])
    def restart_sessions(self, request, queryset) -> None:
        def act(session: WhatsAppSession) -> str:
            services.session_restart(session=session)
            return ""

        self._apply(request, queryset, "Restart requested", act)

    @admin.action(description="Stop the selected sessions", permissions=["change"])
    def stop_sessions(self, request, queryset) -> None:
        def act(session: WhatsAppSession) -> str:
            services.session_stop(session=session)
            return ""

        self._apply(request, queryset, "Stop requested", act)

    @admin.action(description="Reassign to the least-loaded other live worker", permissions=["change"])
    def reassign_sessions(self, request, queryset) -> None:
        def act(session: WhatsAppSession) -> str:
            moved, restarting = services.session_reassign(session=session, requested_by=str(request.user))
            return f"to {moved.assigned_worker.name}{', restarting there' if restarting else ''}"

        self._apply(request, queryset, "Reassigned", act)


@admin.register(WorkerInstance)
class WorkerInstanceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "queue",
        "hostname",
        "pid",
        "status",
        "capacity",
        "assigned_sessions",
        "hosted_sessions",
        "chrome_pss_mb",
        "open_fds",
        "last_heartbeat_at",
        "heartbeat_age",
    ]
    list_filter = ["status"]
    search_fields = ["name", "hostname"]
    readonly_fields = ["started_at", "last_heartbeat_at", "metrics"]

    def get_queryset(self, request):
        return workers_with_session_counts()

    @admin.display(description="Assigned (DB)", ordering="session_count")
    def assigned_sessions(self, worker: WorkerInstance) -> int:
        return worker.session_count

    # The next columns show what the worker's own heartbeat reported; a gap between
    # "assigned" and "hosted" is what reconciliation fixes.
    @admin.display(description="Hosted (reported)")
    def hosted_sessions(self, worker: WorkerInstance):
        reported = (worker.metrics or {}).get("sessions")
        if isinstance(reported, list):
            return len(reported)
        return reported if reported is not None else "—"

    @admin.display(description="Chrome PSS (MB)")
    def chrome_pss_mb(self, worker: WorkerInstance):
        return (worker.metrics or {}).get("chrome_pss_mb", "—")

    @admin.display(description="Open fds")
    def open_fds(self, worker: WorkerInstance):
        return (worker.metrics or {}).get("open_fds", "—")

    @admin.display(description="Heartbeat age", ordering="-last_heartbeat_at")
    def heartbeat_age(self, worker: WorkerInstance) -> str:
        if worker.last_heartbeat_at is None:
            return "never"
        seconds = (timezone.now() - worker.last_heartbeat_at).total_seconds()
        silent = seconds > settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS
        if silent and worker.status != WorkerInstance.Status.DEAD:
            return f"{seconds:.0f} s (silent: reconciliation will declare it dead)"
        return f"{seconds:.0f} s"


@admin.register(SessionSnapshot)
class SessionSnapshotAdmin(admin.ModelAdmin):
    list_display = ["session", "size_bytes", "sha256", "browser_version", "saved_at"]
    search_fields = ["session__session_id", "sha256"]
    # The encrypted bytes are useless on screen and large: never render them.
    exclude = ["data"]
    readonly_fields = ["session", "size_bytes", "sha256", "browser_version", "saved_at"]


@admin.register(SessionEvent)
class SessionEventAdmin(admin.ModelAdmin):
    list_display = ["session", "kind", "at"]
    list_filter = ["kind"]
    search_fields = ["session__session_id"]
    readonly_fields = ["session", "kind", "detail", "at"]
    list_select_related = ["session"]
