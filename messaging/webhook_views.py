"""The Webhooks pages (managers only). Thin: each view validates a form or loads a scoped
row and calls the same `messaging.webhooks` service the API calls."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, ListView

from accounts.mixins import WorkspaceManagerMixin
from messaging import webhooks


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in webhooks.WEBHOOK_EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None selected means every event.",
    )


class WebhookEndpointMixin(WorkspaceManagerMixin):
    def get_endpoint(self):
        return webhooks.webhook_endpoint_get_or_404(
            workspace=self.request.workspace, webhook_uuid=self.kwargs["webhook_uuid"]
        )


class WebhookListView(WorkspaceManagerMixin, FormView):
    template_name = "messaging/webhooks/webhook_list.html"
    form_class = WebhookEndpointForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        endpoints = list(webhooks.webhook_endpoints_of_workspace(workspace=self.request.workspace))
        # F13: failures are shown next to each endpoint, so a misrouted webhook is noticed.
        context["endpoints"] = [(e, webhooks.webhook_recent_failures(endpoint=e)) for e in endpoints]
        context["quota"] = webhooks.webhook_endpoint_quota(workspace=self.request.workspace)
        context["now"] = timezone.now()
        return context

    def form_valid(self, form):
        try:
            endpoint, secret = webhooks.webhook_endpoint_create(
                workspace=self.request.workspace,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except webhooks.WebhookEndpointQuotaExceeded as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        except webhooks.WebhookError as exc:
            form.add_error("url", str(exc))
            return self.form_invalid(form)
        return _show_secret_once(self.request, endpoint=endpoint, secret=secret)

    def get(self, request, *args, **kwargs):
        shown = request.session.pop(NEW_SECRET_SESSION_KEY, None) or {}
        return self.render_to_response(
            self.get_context_data(new_secret=shown.get("secret"), new_secret_url=shown.get("url"))
        )


# Redirect after the POST (a reload must neither make a second endpoint nor rotate again); the
# secret rides in the session for exactly one page view, then exists only with the integrator.
NEW_SECRET_SESSION_KEY = "blazz_new_webhook_secret"  # noqa: S105 # nosec B105 # a session key name


def _show_secret_once(request, *, endpoint, secret: str) -> HttpResponseRedirect:
    request.session[NEW_SECRET_SESSION_KEY] = {"secret": secret, "url": endpoint.url}
    return HttpResponseRedirect(reverse("webhooks:webhook_list"))


class WebhookToggleView(WebhookEndpointMixin, View):
    def post(self, request, webhook_uuid):
        endpoint = self.get_endpoint()
        webhooks.webhook_endpoint_update(endpoint=endpoint, is_active=not endpoint.is_active)
        state = "enabled" if endpoint.is_active else "disabled"
        messages.success(request, f"Webhook {endpoint.url} {state}.")
        return HttpResponseRedirect(reverse("webhooks:webhook_list"))


class WebhookRotateSecretView(WebhookEndpointMixin, View):
    def post(self, request, webhook_uuid):
        endpoint = self.get_endpoint()
        secret = webhooks.webhook_endpoint_rotate_secret(endpoint=endpoint)
        return _show_secret_once(request, endpoint=endpoint, secret=secret)


class WebhookDeleteView(WebhookEndpointMixin, View):
    def post(self, request, webhook_uuid):
        endpoint = self.get_endpoint()
        webhooks.webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, f"Webhook {endpoint.url} deleted.")
        return HttpResponseRedirect(reverse("webhooks:webhook_list"))


class WebhookDeliveryListView(WebhookEndpointMixin, ListView):
    template_name = "messaging/webhooks/delivery_list.html"
    context_object_name = "deliveries"
    paginate_by = 50

    def get_queryset(self):
        self.endpoint = self.get_endpoint()
        return webhooks.webhook_deliveries_of_endpoint(endpoint=self.endpoint)

    def get_context_data(self, **kwargs):
        return super().get_context_data(endpoint=self.endpoint, **kwargs)


class WebhookRedeliverView(WebhookEndpointMixin, View):
    def post(self, request, webhook_uuid, delivery_id):
        endpoint = self.get_endpoint()
        delivery = webhooks.webhook_delivery_get_or_404(endpoint=endpoint, delivery_id=delivery_id)
        try:
            webhooks.webhook_delivery_redeliver(delivery=delivery)
            messages.success(request, f"Delivery {delivery.event_id} queued again.")
        except webhooks.WebhookDeliveryNotRedeliverable as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("webhooks:webhook_deliveries", args=[endpoint.uuid]))
