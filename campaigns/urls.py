from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.CampaignListView.as_view(), name="campaign_list"),
    path("new", views.CampaignCreateView.as_view(), name="campaign_new"),
    path("<uuid:campaign_uuid>/", views.CampaignDetailView.as_view(), name="campaign_detail"),
    path("<uuid:campaign_uuid>/edit", views.CampaignEditView.as_view(), name="campaign_edit"),
    path(
        "<uuid:campaign_uuid>/start/confirm",
        views.CampaignStartConfirmView.as_view(),
        name="campaign_start_confirm",
    ),
]
urlpatterns += [
    path(
        f"<uuid:campaign_uuid>/{action}",
        views.CampaignActionView.as_view(action=action),
        name=f"campaign_{action}",
    )
    for action in ("start", "pause", "resume", "cancel", "delete")
]
