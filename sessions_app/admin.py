from django.contrib import admin

from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance


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
    readonly_fields = [
        "uuid",
        "created_at",
        "updated_at",
        "last_activity_at",
        "last_connected_at",
        "last_heartbeat_at",
        "lease_expires_at",
        "qr_code",
        "qr_expires_at",
    ]
    autocomplete_fields = ["workspace"]
    raw_id_fields = ["created_by"]
    inlines = [SessionEventInline]
    list_select_related = ["workspace", "assigned_worker"]


@admin.register(WorkerInstance)
class WorkerInstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "queue", "hostname", "pid", "status", "capacity", "last_heartbeat_at"]
    list_filter = ["status"]
    search_fields = ["name", "hostname"]
    readonly_fields = ["started_at", "last_heartbeat_at", "metrics"]


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
