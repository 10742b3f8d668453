"""Campaigns UI: list, detail with live progress, create/edit form and the verbs. Views read
through selectors and write through one service each (the same ones the API calls); a
refusal is a flash message or a form error, never a 500. Owners and admins manage campaigns;
agents see them."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.views import View
from django.views.generic import ListView, TemplateView
from django.views.generic.edit import FormView

from accounts.mixins import WorkspaceManagerMixin, WorkspaceMemberMixin
from accounts.tenancy import scoped
from campaigns import selectors, services
from campaigns.forms import CampaignForm
from campaigns.models import Campaign
from campaigns.pacing import zone
from messaging.selectors import contact_by_address
from messaging.services.media import MediaRefused, media_file_store, media_size_limit
from sessions_app.models import WhatsAppSession


def describe_audience(audience: dict[str, Any]) -> str:
    kind = (audience or {}).get("kind", "all")
    if kind == "list":
        described = f"A list of {len(audience.get('contacts') or [])} contacts"
        return described + (" (more being imported)" if audience.get("import") else "")
    if kind == "filter":
        parts = []
        for key, value in (audience.get("metadata") or {}).items():
            if key == "tags" and isinstance(value, list):
                parts.append("tagged " + ", ".join(str(tag) for tag in value))
            else:
                parts.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        return "Contacts " + " and ".join(parts)
    return "All contacts"


def _can_manage(request) -> bool:
    return request.membership is not None and request.membership.can_manage


class CampaignListView(WorkspaceMemberMixin, ListView):
    template_name = "campaigns/campaign_list.html"
    context_object_name = "campaigns"
    paginate_by = 50

    def get_queryset(self):
        return selectors.campaigns_of_workspace(workspace=self.request.workspace)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(can_manage=_can_manage(self.request), **kwargs)


class CampaignDetailView(WorkspaceMemberMixin, TemplateView):
    template_name = "campaigns/campaign_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        campaign = selectors.campaign_get_or_404(
            workspace=self.request.workspace, campaign_uuid=self.kwargs["campaign_uuid"]
        )
        progress = selectors.campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
        context.update(
            campaign=campaign,
            progress=selectors.progress_payload(campaign, progress),
            distribution=selectors.campaign_distribution(campaign=campaign),
            failed_logs=selectors.campaign_failed_logs(campaign=campaign),
            recipient_import=selectors.campaign_latest_import(campaign=campaign),
            audience_text=describe_audience(campaign.audience),
            chosen_numbers=list(campaign.sessions.all()),
            healthy_numbers=selectors.sending_numbers(campaign=campaign).count(),
            can_manage=_can_manage(self.request),
            timezone_name=campaign.workspace.timezone,
        )
        return context


class _CampaignFormMixin(WorkspaceManagerMixin):
    template_name = "campaigns/campaign_form.html"
    form_class = CampaignForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        numbers = scoped(WhatsAppSession, self.request.workspace).filter(deleted_at__isnull=True)
        kwargs["numbers"] = [
            (str(s.uuid), f"{s.phone_number or s.session_id} ({s.get_status_display()})")
            for s in numbers.order_by("phone_number", "id")
        ]
        kwargs["phone_region"] = self.request.workspace.phone_region
        return kwargs

    def dispatch(self, request, *args, **kwargs):
        # Times in the form are the workspace's local time, both read and shown (the
        # response is rendered inside the override, not lazily after it).
        workspace = getattr(request, "workspace", None)
        with timezone.override(zone(workspace.timezone if workspace else "UTC")):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(timezone_name=self.request.workspace.timezone, **kwargs)


def attachment_arguments(request, form: CampaignForm, *, editing: bool) -> dict[str, Any] | None:
    """The attachment's service arguments: an upload is stored first (once per workspace, by
    its bytes) and passed as the MediaFile; on an edit, nothing when the attachment is left as
    it is. None, with the error on the form, when the file is refused (too big, quota full)."""
    data = form.cleaned_data
    upload = data.get("attachment")
    kind = data.get("attachment_type") or ""
    if upload is None:
        if data.get("remove_attachment"):
            return {"media_file": None}
        if editing and kind:
            return {"media_kind": kind}
        return {}
    stored_as = kind or "document"
    limit = media_size_limit(stored_as)
    try:
        if upload.size > limit:
            size, most = filesizeformat(upload.size), filesizeformat(limit)
            raise MediaRefused(f"The file is {size}; the limit for {stored_as} is {most}.")
        media_file = media_file_store(
            workspace=request.workspace, data=upload, kind=stored_as, filename=upload.name or ""
        )
    except MediaRefused as exc:
        form.add_error("attachment", str(exc))
        return None
    return {"media_file": media_file, "media_kind": kind, "media_filename": upload.name or ""}


class CampaignCreateView(_CampaignFormMixin, FormView):
    def form_valid(self, form: CampaignForm):
        attachment = attachment_arguments(self.request, form, editing=False)
        if attachment is None:
            return self.form_invalid(form)
        try:
            campaign, _ = services.campaign_create(
                workspace=self.request.workspace,
                created_by=self.request.user,
                **form.service_arguments(),
                **attachment,
            )
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, "Campaign saved as a draft. Check it, then start it.")
        return redirect("campaigns:campaign_detail", campaign_uuid=campaign.uuid)


class CampaignEditView(_CampaignFormMixin, FormView):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and getattr(request, "workspace", None) is not None:
            self.campaign = selectors.campaign_get_or_404(
                workspace=request.workspace, campaign_uuid=kwargs["campaign_uuid"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self) -> dict[str, Any]:
        return CampaignForm.initial_for(self.campaign)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(campaign=self.campaign, **kwargs)

    def form_valid(self, form: CampaignForm):
        attachment = attachment_arguments(self.request, form, editing=True)
        if attachment is None:
            return self.form_invalid(form)
        try:
            services.campaign_update(campaign=self.campaign, **form.service_arguments(), **attachment)
        except services.CampaignError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(self.request, "Campaign updated.")
        return redirect("campaigns:campaign_detail", campaign_uuid=self.campaign.uuid)


class CampaignActionView(WorkspaceManagerMixin, View):
    """POST-only verbs: start, pause, resume, cancel, delete."""

    action: str = ""
    done = {
        "start": "Campaign started.",
        "pause": "Campaign paused: no new message goes out until you resume it.",
        "resume": "Campaign resumed; its remaining messages were re-planned from now.",
        "cancel": "Campaign cancelled; recipients not yet sent to were skipped.",
        "delete": "Campaign deleted.",
    }

    def post(self, request, campaign_uuid):
        campaign = selectors.campaign_get_or_404(workspace=request.workspace, campaign_uuid=campaign_uuid)
        service = getattr(services, f"campaign_{self.action}")
        try:
            result = service(campaign=campaign)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
            return redirect("campaigns:campaign_detail", campaign_uuid=campaign.uuid)
        if self.action == "delete":
            messages.success(request, self.done["delete"])
            return redirect("campaigns:campaign_list")
        message = self.done[self.action]
        if (
            self.action == "start"
            and isinstance(result, Campaign)
            and result.status == Campaign.Status.SCHEDULED
        ):
            message = "Campaign scheduled: it starts at its start time."
        messages.success(request, message)
        return redirect("campaigns:campaign_detail", campaign_uuid=campaign.uuid)


class CampaignStartConfirmView(WorkspaceManagerMixin, TemplateView):
    """Before Start: how many recipients, from how many numbers, how long at the current
    pacing, what the first recipients will read; and a test send to one of the workspace's
    own contacts (POST)."""

    template_name = "campaigns/campaign_start_confirm.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        campaign = selectors.campaign_get_or_404(
            workspace=self.request.workspace, campaign_uuid=self.kwargs["campaign_uuid"]
        )
        context.update(
            c=campaign,
            preview=selectors.campaign_start_preview(campaign=campaign),
            timezone_name=campaign.workspace.timezone,
        )
        return context

    def post(self, request, campaign_uuid):
        campaign = selectors.campaign_get_or_404(workspace=request.workspace, campaign_uuid=campaign_uuid)
        contact = contact_by_address(workspace=request.workspace, address=request.POST.get("test_to", ""))
        back = redirect("campaigns:campaign_start_confirm", campaign_uuid=campaign.uuid)
        if contact is None:
            messages.error(request, "No contact of this workspace has that number; add it to Contacts first.")
            return back
        try:
            services.campaign_test_send(campaign=campaign, contact=contact, sent_by=request.user)
        except services.CampaignError as exc:
            messages.error(request, str(exc))
            return back
        messages.success(request, f"Test sent to {contact.label}; it is in the inbox like any message.")
        return back
