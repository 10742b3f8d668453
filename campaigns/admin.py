from django.contrib import admin

from campaigns.models import Campaign, CampaignLog


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
    ]
    autocomplete_fields = ["workspace"]
    filter_horizontal = ["sessions"]
    raw_id_fields = ["created_by"]


@admin.register(CampaignLog)
class CampaignLogAdmin(admin.ModelAdmin):
    list_display = ["campaign", "contact", "whatsapp_session", "status", "scheduled_at", "attempts"]
    list_filter = ["status"]
    search_fields = ["campaign__name", "contact__phone"]
    raw_id_fields = ["campaign", "contact", "whatsapp_session", "chat"]
    readonly_fields = ["attempts", "updated_at"]
    list_select_related = ["campaign", "contact", "whatsapp_session"]
