from django.contrib import admin, messages

from campaigns import services
from campaigns.models import Campaign, CampaignLog, RecipientImport


def _verb(name: str, label: str):
    """An admin action calling the same service as the UI and the API, one campaign at a time;
    a refusal is reported, never a 500."""

    def action(modeladmin, request, queryset):
        done = 0
        for campaign in queryset.select_related("workspace"):
            try:
                getattr(services, f"campaign_{name}")(campaign=campaign)
                done += 1
            except services.CampaignError as exc:
                modeladmin.message_user(request, f"{campaign}: {exc}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{label}: {done} campaign(s).", messages.SUCCESS)

    action.__name__ = f"campaign_{name}"
    action.short_description = f"{label} selected campaigns"
    return action


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "workspace",
        "status",
        "scheduled_at",
        "total_count",
        "sent_count",
        "failed_count",
    ]
    list_filter = ["status", "workspace"]
    search_fields = ["name", "uuid"]
    readonly_fields = [
        "uuid",
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
        "total_count",
        "sent_count",
        "failed_count",
        "skipped_count",
        "last_error",
        "idempotency_key",
        # The attachment is stored and checked by the services (uploaded once, per workspace).
        "media_file",
        "media_kind",
        "media_filename",
    ]
    autocomplete_fields = ["workspace"]
    filter_horizontal = ["sessions"]
    raw_id_fields = ["created_by"]
    actions = [
        _verb("start", "Start"),
        _verb("pause", "Pause"),
        _verb("resume", "Resume"),
        _verb("cancel", "Cancel"),
    ]


@admin.register(CampaignLog)
class CampaignLogAdmin(admin.ModelAdmin):
    list_display = ["campaign", "contact", "whatsapp_session", "status", "scheduled_at", "attempts"]
    list_filter = ["status"]
    search_fields = ["campaign__name", "contact__phone"]
    raw_id_fields = ["campaign", "contact", "whatsapp_session", "chat"]
    readonly_fields = ["attempts", "dispatched_at", "updated_at"]
    list_select_related = ["campaign", "contact", "whatsapp_session"]


@admin.register(RecipientImport)
class RecipientImportAdmin(admin.ModelAdmin):
    """Read-only: the import is advanced by its task; staff see its progress and errors."""

    list_display = [
        "uuid",
        "campaign",
        "workspace",
        "status",
        "processed",
        "total",
        "error_count",
        "updated_at",
    ]
    list_filter = ["status"]
    search_fields = ["uuid", "campaign__name"]
    list_select_related = ["campaign", "workspace"]
    exclude = ["phones", "contact_uuids"]  # up to the recipients quota of phones: not a form

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
