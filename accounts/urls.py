from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views
from accounts.forms import EmailLoginForm

app_name = "accounts"
urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("signup/sent/", views.SignupSentView.as_view(), name="signup_sent"),
    path("signup/confirm/<str:token>/", views.SignupConfirmView.as_view(), name="signup_confirm"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=EmailLoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspaces/new/", views.WorkspaceCreateView.as_view(), name="workspace_create"),
    path(
        "workspaces/<uuid:workspace_uuid>/switch/",
        views.WorkspaceSwitchView.as_view(),
        name="workspace_switch",
    ),
    path("team/", views.TeamView.as_view(), name="team"),
    path("workspace/settings/", views.WorkspaceSettingsView.as_view(), name="workspace_settings"),
    path("team/members/<int:user_id>/", views.TeamMemberView.as_view(), name="team_member"),
    path(
        "team/invitations/<uuid:invitation_uuid>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("api-keys/", views.ApiKeyListView.as_view(), name="api_keys"),
    path("api-keys/<uuid:key_uuid>/revoke/", views.ApiKeyRevokeView.as_view(), name="api_key_revoke"),
]
