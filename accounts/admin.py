from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin

from accounts.models import ApiKey, Invitation, Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "created_at"]
    search_fields = ["name", "slug", "uuid"]
    readonly_fields = ["uuid", "created_at"]
    list_filter = ["timezone"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]
    readonly_fields = ["created_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    """Creating a key here shows it once in the success message (the library's behaviour);
    staff revoke by ticking `revoked`."""

    list_display = [*APIKeyModelAdmin.list_display, "workspace", "last_used_at", "revoked_at"]
    list_filter = [*APIKeyModelAdmin.list_filter, "workspace"]
    search_fields = [*APIKeyModelAdmin.search_fields, "workspace__name"]
    autocomplete_fields = ["workspace", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "uuid", "last_used_at", "revoked_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are created from the Team page (the link exists only in the e-mail)."""

    list_display = ["email", "workspace", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "workspace__name"]
    fields = [
        "workspace",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
