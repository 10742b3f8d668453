from django.urls import path

from campaigns import api

urlpatterns = [
    path("campaigns", api.CampaignListView.as_view(), name="api-campaign-list"),
    path("campaigns/<uuid:campaign_uuid>", api.CampaignDetailView.as_view(), name="api-campaign-detail"),
    path("campaigns/<uuid:campaign_uuid>/start", api.CampaignStartView.as_view(), name="api-campaign-start"),
    path("campaigns/<uuid:campaign_uuid>/pause", api.CampaignPauseView.as_view(), name="api-campaign-pause"),
    path(
        "campaigns/<uuid:campaign_uuid>/resume", api.CampaignResumeView.as_view(), name="api-campaign-resume"
    ),
    path(
        "campaigns/<uuid:campaign_uuid>/cancel", api.CampaignCancelView.as_view(), name="api-campaign-cancel"
    ),
    path(
        "campaigns/<uuid:campaign_uuid>/progress",
        api.CampaignProgressView.as_view(),
        name="api-campaign-progress",
    ),
    path("campaigns/<uuid:campaign_uuid>/logs", api.CampaignLogListView.as_view(), name="api-campaign-logs"),
]
