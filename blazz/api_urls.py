"""Every /api/v1/ route, gathered from the apps that own them."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("messaging.api_urls")),
    path("", include("messaging.webhook_api_urls")),
    path("", include("sessions_app.api_urls")),
]
