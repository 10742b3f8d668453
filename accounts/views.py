import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts import services
from accounts.forms import (
    ApiKeyForm,
    InvitationAccountForm,
    InvitationForm,
    SignupConfirmForm,
    SignupForm,
    WorkspaceForm,
    WorkspaceSettingsForm,
)
from accounts.mixins import WorkspaceManagerMixin
from accounts.models import ApiKey, Invitation, Membership, Workspace
from accounts.selectors import SESSION_WORKSPACE_KEY, api_keys_of_workspace
from accounts.tenancy import get_scoped_or_404
from accounts.throttles import SignupRateThrottle


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (site and admin): a page that says so and for
    how long, 429 Too Many Requests, never the login form's plain "wrong password"."""
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {
        "username": (credentials or {}).get("username", ""),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
    }
    response = render(request, "accounts/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class SignupView(FormView):
    """Every valid sign-up gets the same answer, "check your e-mail" (accounts.services
    signup_request); at most BLAZZ_SIGNUP_RATE of them per client address."""

    template_name = "accounts/signup.html"
    form_class = SignupForm

    def form_valid(self, form):
        throttle = SignupRateThrottle()
        if not throttle.allow_request(self.request, self):
            wait = max(1, math.ceil(throttle.wait() or 1))
            response = render(
                self.request, "accounts/signup_throttled.html", {"minutes": math.ceil(wait / 60)}, status=429
            )
            response["Retry-After"] = str(wait)
            return response
        services.signup_request(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            workspace_name=form.cleaned_data["workspace_name"],
            links=services.SignupLinks(
                confirm_url=lambda token: self.request.build_absolute_uri(
                    reverse("accounts:signup_confirm", args=[token])
                ),
                login_url=self.request.build_absolute_uri(reverse("accounts:login")),
            ),
        )
        return redirect("accounts:signup_sent")


class SignupConfirmView(FormView):
    """The link of the confirmation e-mail: the password chosen at sign-up creates the
    account and logs in."""

    template_name = "accounts/signup_confirm.html"
    form_class = SignupConfirmForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["email"] = services.signup_pending_email(token=self.kwargs["token"])
        return context

    def form_valid(self, form):
        try:
            user, workspace = services.signup_confirm(
                token=self.kwargs["token"], password=form.cleaned_data["password"]
            )
        except services.AccountsError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        self.request.session[SESSION_WORKSPACE_KEY] = workspace.id
        messages.success(self.request, f"Welcome! Your workspace “{workspace.name}” is ready.")
        return redirect("dashboard")


class SignupSentView(TemplateView):
    template_name = "accounts/signup_sent.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "hours": settings.BLAZZ_SIGNUP_CONFIRM_HOURS}


class WorkspaceCreateView(LoginRequiredMixin, FormView):
    template_name = "accounts/workspace_form.html"
    form_class = WorkspaceForm

    def form_valid(self, form):
        workspace = services.workspace_create(
            name=form.cleaned_data["name"],
            owner=self.request.user,
            timezone_name=form.cleaned_data["timezone"],
        )
        # Creating a workspace switches to it, like the switch view does.
        services.workspace_switch(
            user=self.request.user, workspace_id=workspace.id, session_key=self.request.session.session_key
        )
        self.request.session[SESSION_WORKSPACE_KEY] = workspace.id
        messages.success(self.request, f"Workspace “{workspace.name}” created.")
        return redirect("dashboard")


class WorkspaceSwitchView(LoginRequiredMixin, View):
    def post(self, request, workspace_uuid):
        workspace = Workspace.objects.filter(uuid=workspace_uuid).first()
        try:
            membership = services.workspace_switch(
                user=request.user,
                workspace_id=workspace.id if workspace else -1,
                session_key=request.session.session_key,
            )
        except services.NotAMember:
            # Same answer for "does not exist" and "not yours": nothing leaks.
            return render(request, "404.html", status=404)
        request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
        return redirect("dashboard")


NEW_API_KEY_SESSION_KEY = "blazz_new_api_key"


class ApiKeyListView(WorkspaceManagerMixin, FormView):
    template_name = "accounts/api_keys.html"
    form_class = ApiKeyForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_keys"] = api_keys_of_workspace(workspace=self.request.workspace)
        return context

    def form_valid(self, form):
        _, full_key = services.api_key_create(
            workspace=self.request.workspace, name=form.cleaned_data["name"], created_by=self.request.user
        )
        # Redirect after the POST (a reload must not make a second key); the full key rides in
        # the session for exactly one page view, then exists only with the integrator.
        self.request.session[NEW_API_KEY_SESSION_KEY] = full_key
        return HttpResponseRedirect(reverse("accounts:api_keys"))

    def get(self, request, *args, **kwargs):
        new_key = request.session.pop(NEW_API_KEY_SESSION_KEY, None)
        return self.render_to_response(self.get_context_data(new_key=new_key))


class ApiKeyRevokeView(WorkspaceManagerMixin, View):
    def post(self, request, key_uuid):
        api_key = get_scoped_or_404(ApiKey, request.workspace, uuid=key_uuid)
        services.api_key_revoke(api_key=api_key)
        messages.success(request, f"Key “{api_key.name}” ({api_key.prefix}…) revoked.")
        return HttpResponseRedirect(reverse("accounts:api_keys"))


# --- Team ------------------------------------------------------------------------------------


class TeamView(WorkspaceManagerMixin, FormView):
    """Members with their roles, pending invitations, and the invite form (owners and admins)."""

    template_name = "accounts/team.html"
    form_class = InvitationForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workspace = self.request.workspace
        context.update(
            memberships=workspace.memberships.select_related("user").order_by("role", "user__username"),
            invitations=workspace.invitations.filter(
                accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
            ),
            roles=Membership.Role.choices,
        )
        return context

    def form_valid(self, form):
        try:
            invitation = services.invitation_create(
                workspace=self.request.workspace,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=self.request.user,
                accept_url=lambda token: self.request.build_absolute_uri(
                    reverse("accounts:invitation_accept", args=[token])
                ),
            )
        except services.AccountsError as exc:
            form.add_error(getattr(exc, "field", None), str(exc))
            return self.form_invalid(form)
        messages.success(self.request, f"Invitation sent to {invitation.email}.")
        return redirect("accounts:team")


class TeamMemberView(WorkspaceManagerMixin, View):
    """POST `role` changes a member's role; POST `remove` removes them."""

    def post(self, request, user_id):
        membership = get_object_or_404(Membership, workspace=request.workspace, user_id=user_id)
        try:
            if "remove" in request.POST:
                services.membership_remove_by(actor=request.membership, membership=membership)
                messages.success(request, f"{membership.user.get_username()} no longer has access.")
            else:
                services.membership_change_role(
                    actor=request.membership, membership=membership, role=request.POST.get("role", "")
                )
                messages.success(request, f"{membership.user.get_username()} is now {membership.role}.")
        except services.AccountsError as exc:
            messages.error(request, str(exc))
        if membership.user_id == request.user.pk and "remove" in request.POST:
            return redirect("dashboard")
        return redirect("accounts:team")


class InvitationRevokeView(WorkspaceManagerMixin, View):
    def post(self, request, invitation_uuid):
        invitation = get_scoped_or_404(Invitation, request.workspace, uuid=invitation_uuid)
        services.invitation_revoke(invitation=invitation)
        messages.success(request, f"The invitation of {invitation.email} no longer works.")
        return redirect("accounts:team")


class InvitationAcceptView(View):
    """The link of an invitation e-mail. Logged in as the invited address: a Join button. Not
    logged in and new to Blazz: choose a password. An existing account: log in first."""

    template_name = "accounts/invitation_accept.html"

    def _render(self, request, token, *, form=None, status=200):
        invitation = services.invitation_for_token(token=token)
        context = {"invitation": invitation, "token": token, "form": form or InvitationAccountForm()}
        if invitation is not None:
            context["account_exists"] = services.invitation_account_exists(invitation=invitation)
            context["login_url"] = f"{reverse('accounts:login')}?next={request.path}"
        return render(request, self.template_name, context, status=status if invitation else 404)

    def get(self, request, token):
        return self._render(request, token)

    def post(self, request, token):
        if request.user.is_authenticated:
            try:
                membership = services.invitation_accept(token=token, user=request.user)
            except services.AccountsError as exc:
                messages.error(request, str(exc))
                return self._render(request, token, status=400)
        else:
            form = InvitationAccountForm(request.POST)
            if not form.is_valid():
                return self._render(request, token, form=form, status=400)
            try:
                user, membership = services.invitation_accept_with_new_account(
                    token=token, password=form.cleaned_data["password"]
                )
            except services.AccountsError as exc:
                form.add_error(None, str(exc))
                return self._render(request, token, form=form, status=400)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
        messages.success(request, f"Welcome to {membership.workspace.name}.")
        return redirect("dashboard")


class WorkspaceSettingsView(WorkspaceManagerMixin, FormView):
    """The workspace's name, time zone and default country (owners and admins)."""

    template_name = "accounts/workspace_settings.html"
    form_class = WorkspaceSettingsForm

    def get_initial(self):
        workspace = self.request.workspace
        return {
            "name": workspace.name,
            "timezone": workspace.timezone,
            "default_country": workspace.default_country,
        }

    def form_valid(self, form):
        try:
            services.workspace_update(
                workspace=self.request.workspace,
                name=form.cleaned_data["name"],
                timezone_name=form.cleaned_data["timezone"],
                default_country=form.cleaned_data["default_country"],
            )
        except services.AccountsError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, "Saved.")
        return redirect("accounts:workspace_settings")
