from django.urls import path

from messaging import webhook_api as api

urlpatterns = [
    path("webhooks", api.WebhookListView.as_view(), name="api-webhook-list"),
    path("webhooks/<uuid:webhook_uuid>", api.WebhookDetailView.as_view(), name="api-webhook-detail"),
    path(
        "webhooks/<uuid:webhook_uuid>/rotate-secret",
        api.WebhookRotateSecretView.as_view(),
        name="api-webhook-rotate-secret",
    ),
    path(
        "webhooks/<uuid:webhook_uuid>/deliveries",
        api.WebhookDeliveryListView.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<uuid:webhook_uuid>/deliveries/<int:delivery_id>/redeliver",
        api.WebhookRedeliverView.as_view(),
        name="api-webhook-redeliver",
    ),
]
