from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import accounts.schema  # noqa: F401  (registers the API key scheme with drf-spectacular)
from blazz.views import healthz
from health.metrics import metrics_view
from health.views import DashboardView, HealthPageView
from messaging.media_api import media_signed_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("health/", HealthPageView.as_view(), name="health"),
    path("", DashboardView.as_view(), name="dashboard"),
    path("admin/", admin.site.urls),
    # Signed, expiring media links (issue 17): the token is the permission.
    path("media/s/<str:token>", media_signed_view, name="media-signed"),
    path("api/v1/", include("blazz.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    path(
        "api/docs/",
        # Served from this project (drf-spectacular-sidecar), its init script a separate request:
        # the Content-Security-Policy allows no other host and no inline script.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[], template_name="blazz/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("", include("accounts.urls")),
    path("numbers/", include("sessions_app.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("webhooks/", include("messaging.webhook_urls")),
    path("", include("messaging.urls")),
]

handler404 = "blazz.views.page_not_found"
handler500 = "blazz.views.server_error"
