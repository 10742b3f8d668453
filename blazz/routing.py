from django.urls import path

from accounts.consumers import WorkspaceEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", WorkspaceEventsConsumer.as_asgi()),
]
