from django.urls import path

from accounts.api import CurrentWorkspaceView

urlpatterns = [path("workspace", CurrentWorkspaceView.as_view(), name="api-workspace")]
