from django.urls import path

from sessions_app import views

app_name = "sessions_app"
urlpatterns = [
    path("", views.SessionListView.as_view(), name="session_list"),
    path("add/", views.SessionAddView.as_view(), name="session_add"),
    path("<uuid:session_uuid>/", views.SessionDetailView.as_view(), name="session_detail"),
    path("<uuid:session_uuid>/qr.svg", views.SessionQrSvgView.as_view(), name="session_qr_svg"),
    path("<uuid:session_uuid>/start/", views.SessionVerbView.as_view(verb="start"), name="session_start"),
    path(
        "<uuid:session_uuid>/restart/", views.SessionVerbView.as_view(verb="restart"), name="session_restart"
    ),
    path("<uuid:session_uuid>/stop/", views.SessionVerbView.as_view(verb="stop"), name="session_stop"),
    path("<uuid:session_uuid>/logout/", views.SessionVerbView.as_view(verb="logout"), name="session_logout"),
    path("<uuid:session_uuid>/delete/", views.SessionVerbView.as_view(verb="delete"), name="session_delete"),
    path(
        "<uuid:session_uuid>/primary/", views.SessionVerbView.as_view(verb="primary"), name="session_primary"
    ),
    path(
        "<uuid:session_uuid>/refresh-qr/",
        views.SessionVerbView.as_view(verb="refresh_qr"),
        name="session_refresh_qr",
    ),
    path("<uuid:session_uuid>/link-code/", views.SessionLinkCodeView.as_view(), name="session_link_code"),
    path("<uuid:session_uuid>/rename/", views.SessionRenameView.as_view(), name="session_rename"),
]
