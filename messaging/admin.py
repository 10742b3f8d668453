from django.contrib import admin

from messaging.models import Chat, Contact, ContactSession, WebhookDelivery, WebhookEndpoint


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone", "name", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["phone", "name", "uuid"]
    readonly_fields = ["uuid", "created_at", "updated_at"]
    autocomplete_fields = ["workspace"]


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "workspace",
        "whatsapp_session",
        "contact",
        "direction",
        "status",
        "short_body",
    ]
    list_filter = ["direction", "status", "workspace"]
    search_fields = ["body", "wam_id", "idempotency_key", "contact__phone", "uuid"]
    readonly_fields = ["uuid", "created_at", "sent_at", "wam_id", "idempotency_key"]
    raw_id_fields = ["whatsapp_session", "contact"]
    autocomplete_fields = ["workspace"]
    list_select_related = ["workspace", "whatsapp_session", "contact"]
    date_hierarchy = "created_at"

    @admin.display(description="body")
    def short_body(self, obj: Chat) -> str:
        return obj.body[:60]


@admin.register(ContactSession)
class ContactSessionAdmin(admin.ModelAdmin):
    list_display = [
        "contact",
        "whatsapp_session",
        "total_messages",
        "first_interaction_at",
        "last_interaction_at",
    ]
    search_fields = ["contact__phone", "whatsapp_session__session_id"]
    raw_id_fields = ["contact", "whatsapp_session"]
    readonly_fields = ["first_interaction_at", "last_interaction_at", "total_messages"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "workspace", "is_active", "events", "created_at"]
    list_filter = ["is_active", "workspace"]
    search_fields = ["url", "uuid"]
    readonly_fields = ["uuid", "created_at"]
    autocomplete_fields = ["workspace"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
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
