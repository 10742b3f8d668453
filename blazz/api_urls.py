"""Every /api/v1/ route, gathered from the apps that own them."""

from django.urls import include, path

from health.api import HealthView, WorkspaceUsageView

urlpatterns = [
    path("workspace/usage", WorkspaceUsageView.as_view(), name="api-workspace-usage"),
    path("", include("accounts.api_urls")),
    path("", include("messaging.api_urls")),
    path("", include("messaging.webhook_api_urls")),
    path("", include("sessions_app.api_urls")),
    path("", include("campaigns.api_urls")),
    path("health", HealthView.as_view(), name="api-health"),
]
