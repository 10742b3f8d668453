from django.urls import path

from messaging import webhook_views as views

app_name = "webhooks"
urlpatterns = [
    path("", views.WebhookListView.as_view(), name="webhook_list"),
    path("<uuid:webhook_uuid>/toggle/", views.WebhookToggleView.as_view(), name="webhook_toggle"),
    path("<uuid:webhook_uuid>/delete/", views.WebhookDeleteView.as_view(), name="webhook_delete"),
    path(
        "<uuid:webhook_uuid>/rotate-secret/",
        views.WebhookRotateSecretView.as_view(),
        name="webhook_rotate_secret",
    ),
    path(
        "<uuid:webhook_uuid>/deliveries/", views.WebhookDeliveryListView.as_view(), name="webhook_deliveries"
    ),
    path(
        "<uuid:webhook_uuid>/deliveries/<int:delivery_id>/redeliver/",
        views.WebhookRedeliverView.as_view(),
        name="webhook_redeliver",
    ),
]
