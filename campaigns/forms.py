"""The campaign form of the UI. It only parses input into the arguments of
`services.campaign_create` / `campaign_update`; every rule is checked by the service."""

from __future__ import annotations

from typing import Any

from django import forms

from blazz.phones import InvalidPhoneNumber, normalize_phone
from campaigns.models import Campaign

AUDIENCE_CHOICES = [
    ("all", "All contacts"),
    ("list", "A list of phone numbers"),
    ("filter", "Contacts with a tag or metadata"),
]
HOURS = [(h, f"{h:02d}:00") for h in range(25)]
ATTACHMENT_TYPES = [
    ("", "From the file"),
    ("image", "Image"),
    ("video", "Video"),
    ("audio", "Audio"),
    ("ptt", "Voice note"),
    ("document", "Document"),
    ("sticker", "Sticker"),
]


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        strip=False,
        # Optional here: with an attachment it is the caption, which may be empty; the service
        # refuses an empty text without one.
        required=False,
        help_text="Variables: {{name}}, {{phone}} and any contact metadata key, e.g. {{city}}. "
        "A fallback after a bar is used when a contact has no value: {{name|there}}. "
        "With an attachment this is its caption (may be empty).",
    )
    attachment = forms.FileField(
        required=False,
        help_text="One photo, video, audio, voice note, document or sticker sent to every recipient "
        "(uploaded once). Images, video and audio up to 16 MB, documents up to 100 MB.",
    )
    attachment_type = forms.ChoiceField(choices=ATTACHMENT_TYPES, required=False, label="Send it as")
    remove_attachment = forms.BooleanField(required=False, label="Remove the attachment")
    audience_kind = forms.ChoiceField(choices=AUDIENCE_CHOICES, initial="all", widget=forms.RadioSelect)
    audience_phones = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "+5511987650103\n+5511987650104"}),
        help_text="One number per line (or separated by commas). New numbers become contacts.",
    )
    audience_tag = forms.CharField(
        required=False,
        max_length=500,
        label="Audience tags",
        help_text="Contacts with this tag (several, separated by commas: contacts with all of them).",
    )
    audience_metadata = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "city=Recife"}),
        help_text="And/or metadata values, one key=value per line.",
    )
    sessions = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every connected number.",
    )
    scheduled_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text="Empty: as soon as it is started. In the workspace's time zone.",
    )
    window_start_hour = forms.TypedChoiceField(choices=HOURS[:24], coerce=int, initial=6)
    window_end_hour = forms.TypedChoiceField(choices=HOURS[1:], coerce=int, initial=22)

    def __init__(
        self, *args: Any, numbers: list[tuple[str, str]] = (), phone_region: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sessions"].choices = list(numbers)
        self.phone_region = phone_region

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("audience_kind")
        if kind == "list":
            phones = [p.strip() for p in (data.get("audience_phones") or "").replace(",", "\n").splitlines()]
            phones = [p for p in phones if p]
            bad = []
            for phone in phones:
                try:
                    normalize_phone(phone, region=self.phone_region)
                except InvalidPhoneNumber:
                    bad.append(phone)
            if bad:
                self.add_error("audience_phones", f"Not phone numbers: {', '.join(bad[:5])}.")
            elif not phones:
                self.add_error("audience_phones", "Enter at least one phone number.")
            data["audience"] = {"kind": "list", "phones": phones}
        elif kind == "filter":
            metadata: dict[str, Any] = {}
            tags = [t.strip() for t in (data.get("audience_tag") or "").split(",") if t.strip()]
            if tags:
                metadata["tags"] = tags
            for line in (data.get("audience_metadata") or "").splitlines():
                if not line.strip():
                    continue
                key, sep, value = line.partition("=")
                if not sep or not key.strip():
                    self.add_error("audience_metadata", f"Write key=value, not {line.strip()!r}.")
                    break
                metadata[key.strip()] = value.strip()
            if not metadata and not self.errors:
                self.add_error("audience_tag", "Give a tag or at least one key=value.")
            data["audience"] = {"kind": "filter", "metadata": metadata}
        else:
            data["audience"] = {"kind": "all"}
        return data

    def service_arguments(self) -> dict[str, Any]:
        """The arguments of campaign_create / campaign_update, the attachment aside (the view
        stores an upload first; see `attachment_upload`)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "body": data.get("body") or "",
            "audience": data["audience"],
            "sessions": data.get("sessions") or [],
            "scheduled_at": data.get("scheduled_at"),
            "window_start_hour": data["window_start_hour"],
            "window_end_hour": data["window_end_hour"],
        }

    @staticmethod
    def initial_for(campaign: Campaign) -> dict[str, Any]:
        audience = campaign.audience or {"kind": "all"}
        initial: dict[str, Any] = {
            "name": campaign.name,
            "body": campaign.body,
            "audience_kind": audience.get("kind", "all"),
            "sessions": [str(u) for u in campaign.sessions.values_list("uuid", flat=True)],
            "scheduled_at": campaign.scheduled_at,
            "window_start_hour": campaign.window_start_hour,
            "window_end_hour": campaign.window_end_hour,
        }
        if audience.get("kind") == "list":
            from messaging.models import Contact

            phones = Contact.objects.filter(
                workspace_id=campaign.workspace_id, uuid__in=audience.get("contacts") or []
            ).values_list("phone", flat=True)
            listed = [str(p) for p in phones]
            if audience.get("import"):
                # Phones still being imported in the background: shown too, so saving the form
                # does not drop them.
                from campaigns.models import RecipientImport

                pending = RecipientImport.objects.filter(campaign=campaign, uuid=audience["import"]).first()
                if pending is not None and not pending.finished:
                    listed += pending.phones
            initial["audience_phones"] = "\n".join(listed)
        elif audience.get("kind") == "filter":
            metadata = dict(audience.get("metadata") or {})
            tags = metadata.pop("tags", None)
            if isinstance(tags, list):
                initial["audience_tag"] = ", ".join(str(tag) for tag in tags)
            initial["audience_metadata"] = "\n".join(f"{k}={v}" for k, v in metadata.items())
        return initial
