from django.urls import path

from sessions_app import api

urlpatterns = [
    path("sessions", api.SessionListView.as_view(), name="api-session-list"),
    path("sessions/<uuid:session_uuid>", api.SessionDetailView.as_view(), name="api-session-detail"),
    path(
        "sessions/<uuid:session_uuid>/events", api.SessionEventListView.as_view(), name="api-session-events"
    ),
    path("sessions/<uuid:session_uuid>/qr", api.SessionQrView.as_view(), name="api-session-qr"),
    path("sessions/<uuid:session_uuid>/start", api.SessionStartView.as_view(), name="api-session-start"),
    path("sessions/<uuid:session_uuid>/stop", api.SessionStopView.as_view(), name="api-session-stop"),
    path(
        "sessions/<uuid:session_uuid>/restart", api.SessionRestartView.as_view(), name="api-session-restart"
    ),
    path("sessions/<uuid:session_uuid>/logout", api.SessionLogoutView.as_view(), name="api-session-logout"),
    path(
        "sessions/<uuid:session_uuid>/primary", api.SessionPrimaryView.as_view(), name="api-session-primary"
    ),
    path(
        "sessions/<uuid:session_uuid>/refresh-qr",
        api.SessionRefreshQrView.as_view(),
        name="api-session-refresh-qr",
    ),
    path(
        "sessions/<uuid:session_uuid>/link-code",
        api.SessionLinkCodeView.as_view(),
        name="api-session-link-code",
    ),
]
