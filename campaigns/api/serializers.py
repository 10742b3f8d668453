"""What the campaigns API reads and returns: the input serializers (validated here, before any
service runs) and the output ones, which also define the OpenAPI schema's components."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blazz.api_common import InputSerializer
from campaigns import selectors
from campaigns.models import Campaign, CampaignLog, RecipientImport
from messaging.media_send_api import FILE_KINDS
from messaging.services.outbound import MEDIA_FILENAME_MAX_CHARS

# --- Serializers ---------------------------------------------------------------------------------


class AudienceSerializer(InputSerializer):
    kind = serializers.ChoiceField(
        choices=["all", "list", "filter"],
        default="all",
        help_text="`all`: every contact; `list`: the contacts named in `contacts`/`phones`; `filter`: "
        "contacts whose metadata contains `metadata`.",
    )
    contacts = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text="`list`: contact uuids."
    )
    phones = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        help_text="`list`: phone numbers (E.164); unknown ones become contacts.",
    )
    metadata = serializers.DictField(
        required=False,
        help_text='`filter`: JSON the contact\'s metadata must contain. Tags: `{"tags": ["vip"]}` matches a '
        'contact whose `tags` list holds "vip"; `{"city": "Recife"}` an exact value.',
    )

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if "contacts" in value:
            value["contacts"] = [str(u) for u in value["contacts"]]
        return value


class AudienceSummarySerializer(serializers.Serializer):
    kind = serializers.CharField(
        default="all", help_text="`all` (also for an audience never set), `list` or `filter`."
    )
    metadata = serializers.DictField(required=False, help_text="For `filter`.")
    contact_count = serializers.SerializerMethodField(help_text="For `list`: how many contacts it names.")

    def get_contact_count(self, audience) -> int | None:
        return len(audience.get("contacts") or []) if audience.get("kind") == "list" else None


class RecipientImportErrorSerializer(serializers.Serializer):
    phone = serializers.CharField()
    error = serializers.CharField()


class RecipientImportSerializer(serializers.ModelSerializer):
    percent = serializers.FloatField(read_only=True)
    errors = RecipientImportErrorSerializer(
        many=True, read_only=True, help_text="The first refused phones, with the reason."
    )

    class Meta:
        model = RecipientImport
        fields = ["uuid", "status", "total", "processed", "percent", "error_count", "errors", "completed_at"]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "`pending`, `running`, `completed`, or `superseded` (the audience changed)."
            },
            "total": {"help_text": "Phones in the list."},
            "processed": {"help_text": "Phones handled so far (imported or refused)."},
            "error_count": {"help_text": "Phones refused: not a phone number, or past the contacts quota."},
        }


class CampaignMediaSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(
        source="media_file.uuid", help_text="The uploaded file (`POST /api/v1/media`)."
    )
    type = serializers.CharField(source="media_kind", help_text="What every recipient gets it as.")
    mimetype = serializers.CharField(source="media_file.mimetype")
    size = serializers.IntegerField(source="media_file.size")
    filename = serializers.CharField(source="media_filename")


class CampaignSerializer(serializers.ModelSerializer):
    audience = AudienceSummarySerializer(read_only=True)
    media = serializers.SerializerMethodField(
        help_text="The attachment every recipient gets, with `body` as its caption; null for text."
    )
    recipient_import = serializers.SerializerMethodField(
        help_text="The background import of the latest long phone list (more than "
        "BLAZZ_RECIPIENT_IMPORT_SYNC_MAX phones), null when there was none. The campaign starts only "
        "once it is `completed`."
    )
    sessions = serializers.SlugRelatedField(
        slug_field="uuid",
        many=True,
        read_only=True,
        help_text="The numbers it sends from (uuids); empty = every connected number.",
    )
    timezone = serializers.CharField(
        source="workspace.timezone",
        read_only=True,
        help_text="The send window's time zone (the workspace's).",
    )
    percent = serializers.FloatField(
        read_only=True, help_text="Recipients done (sent, failed or skipped), in %."
    )

    class Meta:
        model = Campaign
        fields = [
            "uuid",
            "name",
            "body",
            "media",
            "status",
            "audience",
            "sessions",
            "scheduled_at",
            "window_start_hour",
            "window_end_hour",
            "timezone",
            "total_count",
            "sent_count",
            "failed_count",
            "skipped_count",
            "percent",
            "recipient_import",
            "last_error",
            "created_at",
            "started_at",
            "completed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(CampaignMediaSerializer(allow_null=True))
    def get_media(self, campaign) -> dict | None:
        return CampaignMediaSerializer(campaign).data if campaign.media_file_id else None

    @extend_schema_field(RecipientImportSerializer(allow_null=True))
    def get_recipient_import(self, campaign) -> dict | None:
        job = selectors.campaign_latest_import(campaign=campaign)
        return RecipientImportSerializer(job).data if job is not None else None


class CampaignWriteSerializer(InputSerializer):
    name = serializers.CharField(max_length=200)
    body = serializers.CharField(
        trim_whitespace=False,
        allow_blank=True,
        help_text="The message, with `{{name}}`, `{{phone}}` and `{{<metadata key>}}` variables; "
        "`{{name|there}}` gives a fallback. Starting refuses a variable a recipient has no value for. "
        "With `media` it is the caption and may be empty (and must be, for `ptt` and `sticker`).",
    )
    media = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="One attachment for every recipient: the `uuid` of a file uploaded with "
        "`POST /api/v1/media` (uploaded once, sent to all). null removes it.",
    )
    media_type = serializers.ChoiceField(
        choices=FILE_KINDS,
        required=False,
        help_text="What the attachment is sent as (`ptt` = voice note). Default: from its bytes. Bytes "
        "that do not fit the type are sent as a document.",
    )
    media_filename = serializers.CharField(
        max_length=MEDIA_FILENAME_MAX_CHARS,
        required=False,
        allow_blank=True,
        help_text="The name recipients see (documents).",
    )
    audience = AudienceSerializer(required=False, help_text="Default: every contact.")
    sessions = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="The `uuid`s of the numbers to send from. Default: every connected number.",
    )
    scheduled_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When to start (ISO 8601). Default: when started."
    )
    window_start_hour = serializers.IntegerField(
        min_value=0, max_value=23, required=False, help_text="Daily send window start, workspace time (6)."
    )
    window_end_hour = serializers.IntegerField(
        min_value=1, max_value=24, required=False, help_text="Daily send window end, exclusive (22)."
    )


class ContactBriefSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    phone = serializers.CharField(source="phone.as_e164")
    name = serializers.CharField()


class CampaignLogSerializer(serializers.ModelSerializer):
    contact = ContactBriefSerializer(read_only=True)
    session = serializers.SerializerMethodField(help_text="The number it is (or was) sent from.")
    message = serializers.SlugRelatedField(
        source="chat",
        slug_field="uuid",
        read_only=True,
        allow_null=True,
        help_text="The message's `uuid`, once handed over; null before.",
    )

    class Meta:
        model = CampaignLog
        fields = [
            "contact",
            "session",
            "status",
            "scheduled_at",
            "dispatched_at",
            "attempts",
            "error",
            "message",
        ]
        read_only_fields = fields

    def get_session(self, log) -> str | None:
        session = log.whatsapp_session
        return session.phone_number.as_e164 if session and session.phone_number else None


class NumberShareSerializer(serializers.Serializer):
    session_uuid = serializers.UUIDField(allow_null=True)
    phone = serializers.CharField()
    status = serializers.CharField(help_text="The number's status now.")
    total = serializers.IntegerField(help_text="Recipients assigned to it.")
    pending = serializers.IntegerField()
    ongoing = serializers.IntegerField()
    success = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    per_minute = serializers.FloatField(help_text="Throughput: sends per minute over the last 10 minutes.")
    daily_cap = serializers.IntegerField(allow_null=True, help_text="Its daily capacity (by number age).")
    sent_today = serializers.IntegerField(allow_null=True, help_text="What it sent today (all messages).")


class ProgressSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    ongoing = serializers.IntegerField(help_text="Handed to a number's browser, not yet confirmed sent.")
    success = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.FloatField()
    numbers = NumberShareSerializer(many=True)
