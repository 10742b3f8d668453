"""Contacts and the shared inbox (UI). Views read through selectors and write through one
service each, the same the API calls: a reply is `chat_send`, adding or editing a contact is
`contact_create` / `contact_update`, opening a conversation is `conversation_mark_read`.
A refusal is a form error or a flash message, never a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView

from accounts.mixins import WorkspaceManagerMixin, WorkspaceMemberMixin
from accounts.tenancy import get_scoped_or_404
from messaging.contacts_csv import csv_lines
from messaging.inbox import conversation_mark_read
from messaging.models import Contact, ContactImport
from messaging.selectors import (
    connected_numbers,
    contact_footprint,
    contact_get_or_404,
    contact_last_number,
    contacts_export_rows,
    contacts_search,
    conversation_get,
    reply_number,
    workspace_tags,
)
from messaging.services import (
    InvalidContact,
    MessagingError,
    chat_send,
    contact_create,
    contact_erase,
    contact_import_create,
    contact_update,
)
from messaging.services.contact_imports import MAX_FILE_BYTES as MAX_IMPORT_FILE_BYTES
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import number_by_uuid


class ContactAddForm(forms.Form):
    phone = forms.CharField(max_length=64, help_text="With the country code, e.g. +55 11 98765-0103.")
    name = forms.CharField(max_length=200, required=False)


class ContactEditForm(forms.Form):
    """Name, tags (one text field the tag editor script turns into chips) and metadata as
    key/value rows (`meta_key`, `meta_value`, `meta_kind` repeated). A value that is not text
    (a number, a list) is shown and edited as JSON (`meta_kind` "json"), so saving the page
    never turns 3 into "3"."""

    name = forms.CharField(max_length=200, required=False)
    tags = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput(
            attrs={"data-tag-editor": "", "list": "workspace-tags", "autocomplete": "off"}
        ),
        help_text="Separated by commas, e.g. vip, wholesale. Campaigns and the contact list filter on them.",
    )

    def __init__(self, *args: Any, rows: list[tuple[str, str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            keys, values, kinds = (self.data.getlist(f"meta_{part}") for part in ("key", "value", "kind"))
            rows = list(zip(keys, values, kinds, strict=False))
        self.metadata_rows = [*(rows or []), *[("", "", "text")] * METADATA_BLANK_ROWS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        metadata: dict[str, Any] = {}
        for key, value, kind in self.metadata_rows:
            key = key.strip()
            if not key:
                if value.strip():
                    self.add_error(None, f"The value {value.strip()[:30]!r} has no key; name it or clear it.")
                continue
            if key in metadata:
                self.add_error(None, f"The key {key!r} appears twice.")
                continue
            if kind == "json":
                try:
                    metadata[key] = json.loads(value)
                except (ValueError, RecursionError):  # RecursionError: nested past the decoder's depth
                    self.add_error(None, f"The value of {key!r} is no longer valid JSON; fix or retype it.")
            else:
                metadata[key] = value
        data["metadata"] = metadata
        return data


METADATA_BLANK_ROWS = 2


def metadata_rows(metadata: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key, value as typed, kind) per metadata key, for the key/value editor."""
    return [
        (key, value, "text")
        if isinstance(value, str)
        else (key, json.dumps(value, ensure_ascii=False), "json")
        for key, value in metadata.items()
    ]


class ContactListView(WorkspaceMemberMixin, ListView):
    """Lists and searches contacts; POST adds one (or finds the one this number already is)."""

    template_name = "messaging/contact_list.html"
    context_object_name = "contacts"
    paginate_by = 50

    def get_queryset(self):
        return contacts_search(
            workspace=self.request.workspace,
            query=self.request.GET.get("q", ""),
            tag=self.request.GET.get("tag", ""),
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ContactAddForm())
        context["import_form"] = ContactImportForm()
        context["workspace_tags"] = workspace_tags(workspace=self.request.workspace)
        context["imports"] = ContactImport.objects.filter(workspace=self.request.workspace)[:5]
        return context

    def post(self, request):
        form = ContactAddForm(request.POST)
        if form.is_valid():
            try:
                contact, created = contact_create(
                    workspace=request.workspace, merge_existing=False, **form.cleaned_data
                )
            except InvalidContact as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                if created:
                    messages.success(request, f"Added {contact}.")
                else:
                    messages.info(
                        request,
                        f"{contact.address} is already a contact"
                        + (f" ({contact.label})" if contact.label != contact.address else "")
                        + "; nothing was changed. Edit it here.",
                    )
                return redirect("messaging:contact_detail", contact_uuid=contact.uuid)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ContactDetailView(WorkspaceMemberMixin, DetailView):
    """One contact; POST changes its name and metadata."""

    template_name = "messaging/contact_detail.html"
    context_object_name = "contact"

    def get_object(self, queryset=None):
        return get_scoped_or_404(Contact, self.request.workspace, uuid=self.kwargs["contact_uuid"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "form",
            ContactEditForm(
                initial={"name": self.object.name, "tags": ", ".join(self.object.tags)},
                rows=metadata_rows(self.object.metadata),
            ),
        )
        context["workspace_tags"] = workspace_tags(workspace=self.request.workspace)
        return context

    def post(self, request, contact_uuid):
        self.object = self.get_object()
        form = ContactEditForm(request.POST)
        if form.is_valid():
            try:
                contact_update(
                    contact=self.object,
                    name=form.cleaned_data["name"],
                    tags=form.cleaned_data["tags"],
                    metadata=form.cleaned_data["metadata"],
                )
            except InvalidContact as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, "Saved.")
                return redirect("messaging:contact_detail", contact_uuid=self.object.uuid)
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- Shared inbox -------------------------------------------------------------------------------


def _number_from_param(workspace, raw: str | None) -> WhatsAppSession | None:
    """The workspace's number named by a uuid form/query value; None when blank, malformed
    or not this workspace's (a stale or hand-edited link just shows every number)."""
    return number_by_uuid(workspace=workspace, value=raw)


class ConversationView(WorkspaceMemberMixin, TemplateView):
    """The thread with one contact, every number, both directions. A GET changes nothing: the
    page marks the conversation read (ConversationReadView) only while someone can see it,
    so a background tab or a re-read of the page never marks unseen messages read."""

    template_name = "messaging/conversation.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        contact = contact_get_or_404(
            workspace=self.request.workspace, contact_uuid=self.kwargs["contact_uuid"]
        )
        numbers = list(connected_numbers(workspace=self.request.workspace))
        default = reply_number(workspace=self.request.workspace, contact=contact)
        context.update(
            contact=contact,
            conversation=conversation_get(contact=contact),
            numbers=numbers,
            # The number a reply goes out from when the agent picks none (what chat_send does).
            default_number=default,
            default_is_last_used=default is not None and default == contact_last_number(contact=contact),
            # One key per rendered form: a double-click or a resubmitted form sends once.
            reply_key=uuid.uuid4().hex,
        )
        return context


class ConversationReadView(WorkspaceMemberMixin, View):
    """POST: everything in this conversation so far has been seen (the page sends it when the
    thread is on screen). 204 for the page's script; a redirect for a plain form."""

    def post(self, request, contact_uuid):
        contact = contact_get_or_404(workspace=request.workspace, contact_uuid=contact_uuid)
        conversation_mark_read(contact=contact)
        if request.headers.get("X-Requested-With") == "fetch":
            return HttpResponse(status=204)
        return redirect("messaging:conversation", contact_uuid=contact.uuid)


class ConversationReplyView(WorkspaceMemberMixin, View):
    def post(self, request, contact_uuid):
        contact = contact_get_or_404(workspace=request.workspace, contact_uuid=contact_uuid)
        back = redirect("messaging:conversation", contact_uuid=contact.uuid)
        session = None
        if request.POST.get("session"):
            session = _number_from_param(request.workspace, request.POST["session"])
            if session is None:
                messages.error(request, "That number is no longer available; pick another one.")
                return back
        key = request.POST.get("idempotency_key", "").strip()
        try:
            _, created = chat_send(
                workspace=request.workspace,
                to=contact.address,
                body=request.POST.get("body", ""),
                session=session,
                idempotency_key=f"inbox:{key}" if key else None,
                sent_by=request.user,
            )
        except MessagingError as exc:
            messages.error(request, str(exc))
            return back
        if not created:
            messages.info(request, "This reply was already sent.")
        return back


class ContactDeleteView(WorkspaceManagerMixin, TemplateView):
    """GET says what would be erased; POST with `confirm` erases it (owners and admins)."""

    template_name = "messaging/contact_delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        contact = contact_get_or_404(
            workspace=self.request.workspace, contact_uuid=self.kwargs["contact_uuid"]
        )
        context.update(contact=contact, counts=contact_footprint(contact=contact))
        return context

    def post(self, request, contact_uuid):
        contact = contact_get_or_404(workspace=request.workspace, contact_uuid=contact_uuid)
        if request.POST.get("confirm") != "yes":
            messages.error(request, "Tick the box to confirm: this erases their messages.")
            return redirect("messaging:contact_delete", contact_uuid=contact.uuid)
        deleted = contact_erase(contact=contact)
        messages.success(request, f"Deleted {contact.label} and {deleted.get('Chat', 0)} message(s).")
        return redirect("messaging:contact_list")


class ContactExportView(WorkspaceManagerMixin, View):
    """The workspace's contacts as CSV, streamed (owners and admins: it is every number)."""

    def get(self, request):
        rows = contacts_export_rows(workspace=request.workspace)
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
        return response


class ContactImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header line: phone, name, and any other column as a detail.")


class ContactImportView(WorkspaceManagerMixin, View):
    """POST a CSV: parsed at once (a bad file is refused with the reason), imported in the
    background; the import's page shows its progress live."""

    def post(self, request):
        form = ContactImportForm(request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, "Choose a CSV file to import.")
            return redirect("messaging:contact_list")
        upload = form.cleaned_data["file"]
        if upload.size > MAX_IMPORT_FILE_BYTES:
            messages.error(request, f"The file is over {MAX_IMPORT_FILE_BYTES // 1024 // 1024} MB; split it.")
            return redirect("messaging:contact_list")
        try:
            job = contact_import_create(
                workspace=request.workspace, data=upload.read(), filename=upload.name, created_by=request.user
            )
        except InvalidContact as exc:
            messages.error(request, str(exc))
            return redirect("messaging:contact_list")
        return redirect("messaging:contact_import", import_uuid=job.uuid)


class ContactImportDetailView(WorkspaceManagerMixin, TemplateView):
    template_name = "messaging/contact_import.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["job"] = get_scoped_or_404(
            ContactImport, self.request.workspace, uuid=self.kwargs["import_uuid"]
        )
        return context
