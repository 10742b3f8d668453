"""The campaigns API (`/api/v1/campaigns…`). Thin: the workspace is the API key's, input is
validated here, every write is one service of `campaigns.services` (the same ones the UI and
the admin call). Another workspace's campaign is a 404, never a 403."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from blazz.api_common import InputSerializer, idempotency_key_from, refuse_request_body
from blazz.api_errors import ErrorSerializer, ServiceError, ServiceErrorsMixin
from blazz.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from blazz.pagination import cursor_paginator
from campaigns import selectors, services
from campaigns.models import Campaign, CampaignLog, RecipientImport
from messaging.media_send_api import FILE_KINDS
from messaging.models import MediaFile
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


# --- Errors and helpers --------------------------------------------------------------------------


class CampaignErrorsMixin(ServiceErrorsMixin):
    service_errors = (
        ServiceError(services.CampaignQuotaExceeded, 403, "quota_exceeded"),
        ServiceError(services.RecipientsImporting, 409, "recipients_importing"),
        ServiceError(services.CampaignInvalid, 400, "invalid"),
        ServiceError(services.CampaignError, 409, "conflict"),
    )


class CampaignObjectMixin(CampaignErrorsMixin):
    def get_campaign(self) -> Campaign:
        return selectors.campaign_get_or_404(
            workspace=api_workspace(self.request), campaign_uuid=self.kwargs["campaign_uuid"]
        )


def _fresh(campaign: Campaign) -> Campaign:
    return (
        Campaign.objects.select_related("workspace", "media_file")
        .prefetch_related("sessions")
        .get(pk=campaign.pk)
    )


def _service_arguments(workspace, data: dict) -> dict:
    """The write serializer's fields as the services take them: `media` (a file's uuid) becomes
    the MediaFile, `media_type` its kind."""
    arguments = dict(data)
    if "media" in arguments:
        uuid = arguments.pop("media")
        media_file = None
        if uuid is not None:
            media_file = MediaFile.objects.filter(workspace=workspace, uuid=uuid).first()
            if media_file is None:
                raise serializers.ValidationError(
                    {"media": "No uploaded file with this uuid in this workspace."}
                )
        arguments["media_file"] = media_file
    if "media_type" in arguments:
        arguments["media_kind"] = arguments.pop("media_type")
    return arguments


_CAMPAIGN_UUID = OpenApiParameter(
    "campaign_uuid", OpenApiTypes.UUID, location=OpenApiParameter.PATH, description="The campaign's `uuid`."
)
_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such campaign in this workspace.")
_INVALID = OpenApiResponse(
    ErrorSerializer, description="Invalid content (message, audience, numbers, window)."
)
_CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="The campaign's status does not allow this, no chosen number is connected, or its recipient "
    "list is still being imported (`recipients_importing`).",
)
_QUOTA = OpenApiResponse(
    ErrorSerializer,
    description="Past a workspace quota (`quota_exceeded`): recipients per campaign, or contacts.",
)
_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description="Any unique string (a UUID is a good choice), printable ASCII, at most "
    f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters. Repeating a request with the same key returns the "
    "campaign the first one created (200) instead of a second one.",
)


# --- Collection and one campaign -----------------------------------------------------------------


class CampaignListView(CampaignErrorsMixin, generics.ListAPIView):
    serializer_class = CampaignSerializer

    def get_queryset(self):
        return (
            selectors.campaigns_of_workspace(workspace=api_workspace(self.request))
            .prefetch_related("sessions")
            .select_related("workspace", "media_file")
        )

    @extend_schema(summary="List campaigns", description="Newest first, cursor-paginated (follow `next`).")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a campaign",
        description="Creates a draft. `POST /campaigns/{campaign_uuid}/start` checks it and starts it.",
        request=CampaignWriteSerializer,
        parameters=[_IDEMPOTENCY_KEY],
        responses={
            201: OpenApiResponse(CampaignSerializer, description="Created (draft)."),
            200: OpenApiResponse(
                CampaignSerializer,
                description="Already created by an earlier request with this Idempotency-Key.",
            ),
            400: _INVALID,
            403: _QUOTA,
        },
    )
    def post(self, request, *args, **kwargs):
        key = idempotency_key_from(request, max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
        body = CampaignWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        workspace = api_workspace(request)
        campaign, created = services.campaign_create(
            workspace=workspace, idempotency_key=key, **_service_arguments(workspace, body.validated_data)
        )
        return Response(
            CampaignSerializer(_fresh(campaign)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema_view(
    get=extend_schema(
        summary="Get a campaign",
        parameters=[_CAMPAIGN_UUID],
        responses={200: CampaignSerializer, 404: _NOT_FOUND},
    ),
    patch=extend_schema(
        summary="Edit a draft campaign",
        description="Only drafts can be edited; send the fields to change.",
        parameters=[_CAMPAIGN_UUID],
        request=CampaignWriteSerializer,
        responses={200: CampaignSerializer, 400: _INVALID, 403: _QUOTA, 404: _NOT_FOUND, 409: _CONFLICT},
    ),
    delete=extend_schema(
        summary="Delete a campaign",
        description="Drafts, completed and cancelled campaigns only (cancel a running one first). The "
        "messages it sent stay.",
        parameters=[_CAMPAIGN_UUID],
        responses={204: OpenApiResponse(description="Deleted."), 404: _NOT_FOUND, 409: _CONFLICT},
    ),
)
class CampaignDetailView(CampaignObjectMixin, APIView):
    def get(self, request, campaign_uuid):
        return Response(CampaignSerializer(_fresh(self.get_campaign())).data)

    def patch(self, request, campaign_uuid):
        campaign = self.get_campaign()
        body = CampaignWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        arguments = _service_arguments(campaign.workspace, body.validated_data)
        campaign = services.campaign_update(campaign=campaign, **arguments)
        return Response(CampaignSerializer(_fresh(campaign)).data)

    def delete(self, request, campaign_uuid):
        services.campaign_delete(campaign=self.get_campaign())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Verbs ---------------------------------------------------------------------------------------


class CampaignVerbView(CampaignObjectMixin, APIView):
    """POST with no body: calls `service`, answers with the campaign as it is now."""

    service: Callable[..., Campaign]

    def post(self, request, campaign_uuid):
        refuse_request_body(request)
        campaign = self.service(campaign=self.get_campaign())
        return Response(CampaignSerializer(_fresh(campaign)).data)


def _verb_schema(summary: str, description: str):
    return extend_schema_view(
        post=extend_schema(
            summary=summary,
            description=description,
            request=None,
            parameters=[_CAMPAIGN_UUID],
            responses={
                200: OpenApiResponse(CampaignSerializer, description="The campaign as it is now."),
                400: _INVALID,
                403: _QUOTA,
                404: _NOT_FOUND,
                409: _CONFLICT,
            },
        )
    )


@_verb_schema(
    "Start a campaign",
    "Checks the recipients (a variable some recipient has no value for is a 400 naming it), creates one "
    "log per recipient, distributes them over the numbers by remaining daily capacity (a contact who "
    "talked to one of them keeps it) and plans their send times in the window. Before `scheduled_at` it "
    "waits as `scheduled`. Starting a scheduled or running campaign returns it unchanged.",
)
class CampaignStartView(CampaignVerbView):
    service = staticmethod(services.campaign_start)


@_verb_schema(
    "Pause a campaign",
    "No new send starts after this returns; messages already handed to a number still go. Idempotent.",
)
class CampaignPauseView(CampaignVerbView):
    service = staticmethod(services.campaign_pause)


@_verb_schema(
    "Resume a campaign",
    "Re-plans the remaining sends from now (and moves those of numbers that disconnected). Idempotent.",
)
class CampaignResumeView(CampaignVerbView):
    service = staticmethod(services.campaign_resume)


@_verb_schema(
    "Cancel a campaign",
    "Every recipient not yet sent to becomes `skipped` (messages not yet taken by a browser are "
    "withdrawn). Idempotent; a completed campaign cannot be cancelled.",
)
class CampaignCancelView(CampaignVerbView):
    service = staticmethod(services.campaign_cancel)


# --- Progress and recipients ---------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="Campaign progress",
        description="Counts per status, % done, and per number: recipients, status counts, throughput "
        "and daily capacity. The UI gets the same counts live as `campaign.progress` events.",
        parameters=[_CAMPAIGN_UUID],
        responses={200: ProgressSerializer, 404: _NOT_FOUND},
    )
)
class CampaignProgressView(CampaignObjectMixin, APIView):
    def get(self, request, campaign_uuid):
        campaign = self.get_campaign()
        progress = selectors.campaign_counts(campaign_ids=[campaign.pk])[campaign.pk]
        data = selectors.progress_payload(campaign, progress)
        data["numbers"] = [
            {**share.__dict__, "per_minute": share.per_minute}
            for share in selectors.campaign_distribution(campaign=campaign)
        ]
        return Response(ProgressSerializer(data).data)


_ByIdPagination = cursor_paginator("id", page_size=100, max_page_size=500)


_LOG_STATUS = OpenApiParameter(
    "status", OpenApiTypes.STR, enum=CampaignLog.Status.values, description="Only recipients in this status."
)


@extend_schema_view(
    get=extend_schema(
        summary="A campaign's recipients",
        description="One row per recipient with its status, number, attempts and the reason of a failure; "
        "`?status=failed` lists the failed ones.",
        parameters=[_CAMPAIGN_UUID, _LOG_STATUS],
        responses={200: CampaignLogSerializer(many=True), 400: ErrorSerializer, 404: _NOT_FOUND},
    )
)
class CampaignLogListView(CampaignObjectMixin, generics.ListAPIView):
    serializer_class = CampaignLogSerializer
    pagination_class = _ByIdPagination

    def get_queryset(self):
        wanted = self.request.query_params.get("status") or None
        if wanted and wanted not in CampaignLog.Status.values:
            raise serializers.ValidationError(
                {"status": f"Unknown status; one of {', '.join(CampaignLog.Status.values)}."}
            )
        return selectors.campaign_logs(campaign=self.get_campaign(), status=wanted).select_related("chat")
