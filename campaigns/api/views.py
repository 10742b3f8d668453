"""The campaigns API's endpoints: the collection, one campaign, its verbs (start, pause,
resume, cancel), its progress and its recipients. Each view resolves the campaign in the API
key's workspace and calls one service; the service errors become 400/403/409 here."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from blazz.api_common import idempotency_key_from, refuse_request_body
from blazz.api_errors import ErrorSerializer, ServiceError, ServiceErrorsMixin
from blazz.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from blazz.pagination import cursor_paginator
from campaigns import selectors, services
from campaigns.api.serializers import (
    CampaignLogSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    ProgressSerializer,
)
from campaigns.models import Campaign, CampaignLog
from messaging.models import MediaFile

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
