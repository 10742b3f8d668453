from django.urls import path

from sessions_app import views

app_name = "sessions_app"
urlpatterns = [
    path("", views.SessionListView.as_view(), name="session_list"),
    path("<uuid:session_uuid>/", views.SessionDetailView.as_view(), name="session_detail"),
]
