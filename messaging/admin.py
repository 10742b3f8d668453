from django.contrib import admin

from messaging import webhooks
from messaging.models import (
    Chat,
    Contact,
    ContactImport,
    ContactSession,
    ConversationNote,
    MediaFile,
    QuickReply,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone", "name", "tags", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["phone", "name", "uuid"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    autocomplete_fields = ["workspace"]


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin):
    """Stored media (issue 17), read-only: the bytes are written by media_file_store and
    removed by the cleanup and erasure, which keep storage and rows in step."""

    list_display = ["created_at", "workspace", "mimetype", "size", "sha256", "thumbnail_name"]
    list_filter = ["mimetype", "thumbnail_failed", "workspace"]
    search_fields = ["sha256", "uuid", "storage_name"]
    readonly_fields = [field.name for field in MediaFile._meta.fields]
    list_select_related = ["workspace"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a row deleted here would leave its bytes behind


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "workspace",
        "whatsapp_session",
        "contact",
        "direction",
        "status",
        "media_status",
        "short_body",
    ]
    list_filter = ["direction", "status", "media_status", "workspace"]
    search_fields = ["body", "wam_id", "idempotency_key", "contact__phone", "uuid"]
    # A message's row is the record of what happened: the services that send, ingest and ack
    # own every field.
    readonly_fields = [field.name for field in Chat._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # messages are written by chat_send and by ingestion

    autocomplete_fields = ["workspace"]
    list_select_related = ["workspace", "whatsapp_session", "contact"]
    date_hierarchy = "created_at"

    @admin.display(description="body")
    def short_body(self, obj: Chat) -> str:
        return obj.body[:60]


class ConversationNoteInline(admin.TabularInline):
    model = ConversationNote
    extra = 0
    fields = ["created_at", "author", "body"]
    readonly_fields = fields
    can_delete = False


@admin.register(ContactSession)
class ContactSessionAdmin(admin.ModelAdmin):
    """Conversations. Assignment and status belong to the inbox's services (they publish the
    change to everyone watching); staff read them here."""

    list_display = [
        "contact",
        "whatsapp_session",
        "status",
        "assignee",
        "unread_count",
        "total_messages",
        "last_interaction_at",
    ]
    list_filter = ["status"]
    search_fields = ["contact__phone", "contact__name", "whatsapp_session__session_id"]
    raw_id_fields = ["contact", "whatsapp_session", "assignee"]
    readonly_fields = [
        "uuid",
        "first_interaction_at",
        "last_interaction_at",
        "last_inbound_at",
        "total_messages",
        "status",
        "assignee",
        "unread_count",
    ]
    inlines = [ConversationNoteInline]


@admin.register(QuickReply)
class QuickReplyAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "workspace", "updated_at"]
    search_fields = ["shortcut", "body", "workspace__name"]
    raw_id_fields = ["workspace", "created_by"]
    readonly_fields = ["uuid", "created_at", "updated_at"]


@admin.register(ConversationNote)
class ConversationNoteAdmin(admin.ModelAdmin):
    list_display = ["conversation", "author", "created_at"]
    search_fields = ["body"]
    raw_id_fields = ["conversation", "author"]
    readonly_fields = ["uuid", "conversation", "author", "body", "created_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "workspace", "is_active", "events", "circuit_open_until", "created_at"]
    list_filter = ["is_active", "workspace"]
    search_fields = ["url", "uuid"]
    actions = ["rotate_secret"]
    # The URL (checked against private targets), the secret and the circuit breaker belong to
    # the webhook services; staff may pause an endpoint or change what it hears. The secret
    # is neither shown nor editable here (it is the tenant's): staff can only rotate it.
    fields = [
        "uuid",
        "workspace",
        "url",
        "events",
        "is_active",
        "disabled_reason",
        "consecutive_failures",
        "circuit_open_until",
        "created_at",
    ]
    readonly_fields = [
        "uuid",
        "workspace",
        "url",
        "disabled_reason",
        "consecutive_failures",
        "circuit_open_until",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # endpoints are added by webhook_endpoint_create (the Webhooks page, the API)

    @admin.action(description="Rotate the secret (e.g. leaked); the workspace rotates again to learn one")
    def rotate_secret(self, request, queryset):
        # The new secrets are not shown to staff: a leaked secret stops verifying at once, and
        # the workspace's admins rotate from the Webhooks page or the API to get one they can read.
        count = 0
        for endpoint in queryset:
            webhooks.webhook_endpoint_rotate_secret(endpoint=endpoint)
            count += 1
        self.message_user(
            request,
            f"{count} secret(s) rotated. Signatures with the old secrets no longer verify; the workspaces "
            "must rotate again (Webhooks page or API) to see a new secret.",
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "at", "status_code", "duration_ms", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]
    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "endpoint__url"]
    readonly_fields = [
        "endpoint",
        "event_id",
        "event_type",
        "payload",
        "attempts",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    list_select_related = ["endpoint"]

    @admin.action(description="Redeliver (same webhook-id)")
    def redeliver(self, request, queryset):
        # The same service as the API and UI; rows already queued or sending are skipped.
        done = skipped = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                webhooks.webhook_delivery_redeliver(delivery=delivery)
                done += 1
            except webhooks.WebhookDeliveryNotRedeliverable:
                skipped += 1
        self.message_user(request, f"{done} queued for redelivery, {skipped} skipped.")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    """Read-only history; attempts are written by delivery only."""

    list_display = ["delivery", "number", "at", "status_code", "duration_ms"]
    list_filter = ["status_code"]
    search_fields = ["delivery__event_id", "error"]
    readonly_fields = ["delivery", "number", "at", "status_code", "error", "duration_ms"]
    list_select_related = ["delivery__endpoint"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ContactImport)
class ContactImportAdmin(admin.ModelAdmin):
    """Imports run by themselves (a task per batch, swept by Beat); staff read them here."""

    list_display = [
        "filename",
        "workspace",
        "status",
        "processed",
        "total",
        "created_count",
        "error_count",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["filename", "workspace__name"]
    exclude = ["rows"]
    readonly_fields = [
        "uuid",
        "workspace",
        "created_by",
        "filename",
        "status",
        "total",
        "processed",
        "created_count",
        "existing_count",
        "error_count",
        "errors",
        "created_at",
        "updated_at",
        "completed_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False
